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
        case "default":
            return ["[\\p{P}\\$\\+<=>\\^~\\|]+", gpt2NoTrailingPattern, "\\p{N}+", "[0-9][0-9][0-9]"]
        case "llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe": return [llama3Pattern]
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            return ["\\p{N}", gpt2NoTrailingPattern]
        case "gpt-2", "gpt2", "mpt", "olmo", "jais": return [gpt2NoTrailingPattern]
        case "qwen2", "stablelm2", "deepseek-r1-qwen", "megrez":
            return ["(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"]
        case "deepseek-llm": return ["[\r\n]", deepseekLLMLetters, "\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+", "\\s+$", "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+", "\\p{N}+"]
        case "deepseek-v3", "deepseek3-llm":  // llama.cpp's GGUF name is deepseek-v3 (DEEPSEEK3_LLM)
            return ["\\p{N}{1,3}", "[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+",
                    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"]
        default: return nil
        }
    }

    /// The `tokenizer.ggml.pre` names this implementation knows.
    public static let ggufPreTokenizerNames = ["default", "llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe",
        "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "gpt-2", "gpt2", "mpt", "olmo",
        "jais", "qwen2", "stablelm2", "deepseek-r1-qwen", "megrez", "deepseek-llm", "deepseek-v3", "deepseek3-llm"]

    /// The pre-tokenizer llama.cpp uses for a `tokenizer.ggml.pre` name: its regexes in sequence,
    /// each splitting every piece (matches and the text between them kept), then byte-level mapping.
    public static func ggufPreTokenizer(named name: String) throws -> PreTokenizer {
        guard let patterns = ggufPreRegexes(name) else {
            throw TokenizerError.gguf(key: "tokenizer.ggml.pre", reason: "unsupported pre-tokenizer '\(name)'")
        }
        let splits = try patterns.map { PreTokenizer.split(.regex(try ScalarRegex($0)), .isolated, invert: false) }
        return .sequence(splits + [.byteLevel(addPrefixSpace: false, useRegex: false)])
    }

    /// The Latin/Greek/Cyrillic/... letter class of DeepSeek LLM's pre-tokenizer.
    static let deepseekLLMLetters = "\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+"

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
        let pre = try Self.ggufPreTokenizer(named: preName)
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
        let llama3 = Self.ggufPreRegexes(preName) == [Self.llama3Pattern]
        let model = try BPEModel(vocab: vocab, merges: pairs, unk: nil, fuseUnk: false, byteFallback: false,
                                 ignoreMerges: llama3, byteLevel: true, extraTokens: [:])
        let bos = md["tokenizer.ggml.bos_token_id"]?.int
        let addBOS = md["tokenizer.ggml.add_bos_token"]?.bool ?? llama3  // llama.cpp: llama3 pre-types default to BOS
        let post: PostProcessor? = addBOS ? bos.map { .template(prefix: [$0], suffix: []) } : nil
        self.init(normalizer: nil, preTokenizer: pre,
                  model: model, postProcessor: post, decoder: .byteLevel, addedTokens: added,
                  bosTokenID: bos, eosTokenID: md["tokenizer.ggml.eos_token_id"]?.int)
    }
}
