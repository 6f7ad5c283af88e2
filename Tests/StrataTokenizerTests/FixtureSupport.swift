import Foundation
import StrataTestSupport
import StrataTokenizer

/// Reads the committed fixtures (Fixtures/, copied as a resource) and caches loaded tokenizers.
enum Fixtures {
    static let directory: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func json(_ name: String) throws -> JSON {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try JSON.parse([UInt8](data))
    }

    /// The corpus strings of `corpus.json`.
    static let corpus: [String] = {
        guard case let .array(items)? = try? json("corpus.json") else { return [] }
        return items.compactMap { if case let .string(s) = $0 { return s }; return nil }
    }()

    /// One HF reference file: ids, decoded and decoded-with-skipped-specials per corpus string.
    struct Reference {
        var ids: [[Int]] = []
        var decoded: [String] = []
        var decodedSkipSpecial: [String] = []
    }

    static func reference(_ tokenizer: String) throws -> Reference {
        let root = JSONNode(try json(tokenizer + ".json"))
        var r = Reference()
        r.ids = try root["ids"].array.map { try $0.array.map { try $0.int } }
        r.decoded = try root["decoded"].array.map { try $0.string }
        r.decodedSkipSpecial = try root["decoded_skip_special"].array.map { try $0.string }
        return r
    }

    static let names = ["deepseek-llm-7b-base", "deepseek-r1-distill-qwen-7b", "deepseek-r1-distill-llama-8b", "deepseek-v3"]

    static func tokenizerPath(_ name: String) -> String { TestAssets.tokenizerDirectory(name) + "/tokenizer.json" }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var loaded: [String: Tokenizer] = [:]

    /// Loads (once per process) the real tokenizer `name` from the asset cache.
    static func tokenizer(_ name: String) throws -> Tokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let t = loaded[name] { return t }
        let t = try Tokenizer.load(path: name.hasSuffix(".gguf") ? name : TestAssets.tokenizerDirectory(name))
        loaded[name] = t
        return t
    }
}
