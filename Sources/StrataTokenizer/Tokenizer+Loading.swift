import Foundation
import StrataModel

// Loading from `tokenizer.json` (HF `tokenizers` serialization), an HF model directory, or a GGUF.

extension Tokenizer {
    /// Loads a tokenizer from a `tokenizer.json` file, an HF model directory holding one, or a `.gguf`.
    public static func load(path: String) throws -> Tokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw TokenizerError.unreadable(path: path, reason: "no such file or directory")
        }
        if isDir.boolValue { return try Tokenizer(directory: path) }
        if path.hasSuffix(".gguf") {
            let file: GGUFFile
            do { file = try GGUFFile(path: path) } catch { throw TokenizerError.gguf(key: path, reason: "\(error)") }
            return try Tokenizer(gguf: file)
        }
        return try Tokenizer(tokenizerJSON: path)
    }

    /// Loads `directory/tokenizer.json`, taking BOS/EOS from `tokenizer_config.json` when present.
    public convenience init(directory: String) throws {
        let config = try? JSON.parse(Self.read(directory + "/tokenizer_config.json"))
        try self.init(json: JSON.parse(Self.read(directory + "/tokenizer.json")), config: config)
    }

    /// Loads a `tokenizer.json` file.
    public convenience init(tokenizerJSON path: String) throws {
        try self.init(json: JSON.parse(Self.read(path)), config: nil)
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.unreadable(path: path, reason: "cannot open file")
        }
        return [UInt8](data)
    }

    /// Builds a tokenizer from a parsed `tokenizer.json` (and optionally `tokenizer_config.json`).
    public convenience init(json: JSON, config: JSON? = nil) throws {
        let root = JSONNode(json)
        _ = try root.object
        let normalizer = try root.optional("normalizer").map(Normalizer.parse)
        let pre = try root.optional("pre_tokenizer").map(PreTokenizer.parse)
        let added = try root.optional("added_tokens")?.array.map(AddedToken.parse) ?? []
        let model = try Self.parseModel(root["model"], byteLevel: pre?.isByteLevel ?? false, added: added)
        let post = try root.optional("post_processor").map(PostProcessor.parse)
        let decoder = try root.optional("decoder").map(Decoder.parse)
        func special(_ key: String) -> Int? {
            guard let node = config.map({ JSONNode($0) })?.optional(key) else { return nil }
            let name = (try? node.string) ?? (try? node["content"].string)
            return name.flatMap { n in added.first { $0.content == n }?.id ?? model.id(for: n) }
        }
        self.init(normalizer: normalizer, preTokenizer: pre, model: model, postProcessor: post, decoder: decoder,
                  addedTokens: added, bosTokenID: special("bos_token"), eosTokenID: special("eos_token"))
    }

    static func parseModel(_ node: JSONNode, byteLevel: Bool, added: [AddedToken]) throws -> BPEModel {
        let type = try node.string("type", default: "BPE")
        guard type == "BPE" else { throw TokenizerError.unsupportedComponent(keyPath: node.path, type: type) }
        if let d = node.optional("dropout"), case let .number(p) = d.value, p > 0, p < 1 {
            throw TokenizerError.unsupportedComponent(keyPath: d.path, type: "BPE dropout \(p)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = node.optional(key), try !v.string.isEmpty {
                throw TokenizerError.unsupportedComponent(keyPath: v.path, type: try v.string)
            }
        }
        let vocabNode = try node["vocab"]
        var vocab: [RawString: Int32] = [:]
        let object = try vocabNode.object
        vocab.reserveCapacity(object.count)
        for (token, v) in zip(object.keys, object.values) {
            let id = try JSONNode(v, path: vocabNode.path + "." + token).int
            guard id >= 0, id < 1 << 24 else { throw JSONNode(v, path: vocabNode.path + "." + token).bad("an id in 0..<2^24") }
            vocab[RawString(token)] = Int32(id)
        }
        for t in added where t.id < 0 || t.id > 1 << 24 {
            throw TokenizerError.malformed(keyPath: "added_tokens (id \(t.id))", expected: "an id in 0..<2^24")
        }
        return try BPEModel(vocab: vocab, merges: parseMerges(node["merges"]), unk: node.optional("unk_token")?.string,
                            fuseUnk: node.bool("fuse_unk", default: false), byteFallback: node.bool("byte_fallback", default: false),
                            ignoreMerges: node.bool("ignore_merges", default: false), byteLevel: byteLevel,
                            extraTokens: Dictionary(added.map { ($0.id, $0.content) }, uniquingKeysWith: { a, _ in a }))
    }

    /// Merges as `"a b"` strings or `["a", "b"]` pairs.
    static func parseMerges(_ node: JSONNode) throws -> [(String, String)] {
        guard case let .array(items) = node.value else { throw node.bad("an array") }
        var out: [(String, String)] = []
        out.reserveCapacity(items.count)
        for (k, item) in items.enumerated() {
            switch item {
            case let .string(s):
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError.malformed(keyPath: "\(node.path)[\(k)]", expected: "\"a b\"") }
                out.append((String(parts[0]), String(parts[1])))
            case let .array(pair):
                guard pair.count == 2, case let .string(a) = pair[0], case let .string(b) = pair[1] else {
                    throw TokenizerError.malformed(keyPath: "\(node.path)[\(k)]", expected: "a pair of strings")
                }
                out.append((a, b))
            default: throw TokenizerError.malformed(keyPath: "\(node.path)[\(k)]", expected: "a merge string or pair")
            }
        }
        return out
    }
}
