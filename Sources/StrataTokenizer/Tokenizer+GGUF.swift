import StrataModel

// Tokenizers embedded in GGUF files (`tokenizer.ggml.*`, ggml/docs/gguf.md). Only the `gpt2`
// (byte-level BPE) model is supported. The pre-tokenizer regexes per `tokenizer.ggml.pre` follow
// llama.cpp's `llm_tokenizer_bpe` (src/llama-vocab.cpp): each regex splits every piece in turn,
// keeping matches and the text between them.

extension Tokenizer {
    /// llama.cpp's token types (`llama_token_type`).
    enum GGUFTokenType: Int { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    static let llama3Pattern = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    static let gpt2NoTrailingPattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"

    /// The regexes llama.cpp applies for a `tokenizer.ggml.pre` name.
    static func ggufPreRegexes(_ pre: String) -> [String]? {
        switch pre {
        case "llama-bpe", "llama3", "llama-v3", "dbrx", "smaug-bpe": return [llama3Pattern]
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            return ["\\p{N}", gpt2NoTrailingPattern]
        case "gpt-2", "gpt2", "mpt", "olmo", "jais": return [gpt2NoTrailingPattern]
        case "qwen2", "stablelm2", "deepseek-r1-qwen":
            return ["(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"]
        case "deepseek-llm": return ["[\r\n]", deepseekLLMLetters, "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"]
        case "deepseek-v3", "deepseek3-llm":
            return ["\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
                    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"]
        default: return nil
        }
    }

    /// The Latin/Greek/Cyrillic/... letter class of DeepSeek LLM's pre-tokenizer.
    static let deepseekLLMLetters = "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ\u{10400}-\u{1044F}𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+"

    /// Builds the tokenizer stored in a GGUF file's metadata.
    public convenience init(gguf: GGUFFile) throws {
        let md = gguf.metadata
        func need<T>(_ key: String, _ get: (GGUFValue) -> T?) throws -> T {
            guard let v = md[key] else { throw TokenizerError.gguf(key: key, reason: "missing") }
            guard let t = get(v) else { throw TokenizerError.gguf(key: key, reason: "has the wrong type") }
            return t
        }
        let kind = try need("tokenizer.ggml.model") { $0.string }
        guard kind == "gpt2" else { throw TokenizerError.gguf(key: "tokenizer.ggml.model", reason: "unsupported model '\(kind)' (only gpt2)") }
        let tokens = try need("tokenizer.ggml.tokens") { $0.array?.count == $0.strings?.count ? $0.strings : nil }
        let merges = try need("tokenizer.ggml.merges") { $0.array?.count == $0.strings?.count ? $0.strings : nil }
        let types = try md["tokenizer.ggml.token_type"].map { v in
            guard let a = v.array?.compactMap(\.int), a.count == tokens.count else {
                throw TokenizerError.gguf(key: "tokenizer.ggml.token_type", reason: "expected \(tokens.count) integers")
            }
            return a
        } ?? [Int](repeating: 1, count: tokens.count)
        let preName = md["tokenizer.ggml.pre"]?.string ?? "default"
        guard let patterns = Self.ggufPreRegexes(preName) else {
            throw TokenizerError.gguf(key: "tokenizer.ggml.pre", reason: "unsupported pre-tokenizer '\(preName)'")
        }
        var vocab: [RawString: Int32] = [:]
        vocab.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where vocab[RawString(t)] == nil { vocab[RawString(t)] = Int32(i) }
        let added = tokens.indices.compactMap { i -> AddedToken? in
            let type = GGUFTokenType(rawValue: types[i])
            guard type == .control || type == .userDefined else { return nil }
            return AddedToken(id: i, content: tokens[i], special: type == .control)
        }
        let pairs = try merges.enumerated().map { k, m -> (String, String) in
            let parts = m.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw TokenizerError.gguf(key: "tokenizer.ggml.merges[\(k)]", reason: "expected \"a b\"") }
            return (String(parts[0]), String(parts[1]))
        }
        let model = try BPEModel(vocab: vocab, merges: pairs, unk: nil, fuseUnk: false, byteFallback: false,
                                 ignoreMerges: preName == "llama-bpe", byteLevel: true, extraTokens: [:])
        let splits = try patterns.map { PreTokenizer.split(.regex(try ScalarRegex($0)), .isolated, invert: false) }
        let bos = md["tokenizer.ggml.bos_token_id"]?.int
        let addBOS = md["tokenizer.ggml.add_bos_token"]?.bool ?? false
        let post: PostProcessor? = addBOS ? bos.map { .template(prefix: [$0], suffix: []) } : nil
        self.init(normalizer: nil, preTokenizer: .sequence(splits + [.byteLevel(addPrefixSpace: false, useRegex: false)]),
                  model: model, postProcessor: post, decoder: .byteLevel, addedTokens: added,
                  bosTokenID: bos, eosTokenID: md["tokenizer.ggml.eos_token_id"]?.int)
    }
}
