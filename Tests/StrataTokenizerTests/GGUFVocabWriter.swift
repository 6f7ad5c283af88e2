import Foundation
import StrataTokenizer

/// Writes a vocab-only GGUF (v3, no tensors) from an HF tokenizer.json, laid out as
/// `ops/gen-gguf-tokenizer-fixtures` lays it out for llama.cpp (ggml/docs/gguf.md): tokens by id
/// with `[PAD<i>]` for gaps, token types (1 normal, 3 control, 4 user-defined, 5 unused),
/// "a b" merges, BOS/EOS ids and add_bos from tokenizer_config.json.
enum GGUFVocabWriter {
    static func write(tokenizerDirectory dir: String, pre: String, to path: String) throws {
        let root = JSONNode(try JSON.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/tokenizer.json")))))
        let config = JSONNode(try JSON.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/tokenizer_config.json")))))
        var byID: [Int: (String, Int32)] = [:]
        let vocab = try root["model"]["vocab"].object
        for (k, v) in zip(vocab.keys, vocab.values) { byID[try JSONNode(v).int] = (k, 1) }
        var ids: [String: Int] = [:]
        for (id, t) in byID { ids[t.0] = id }
        for t in try root["added_tokens"].array {
            let id = try t["id"].int, content = try t["content"].string
            byID[id] = (content, try t["special"].bool ? 3 : 4)
            ids[content] = id
        }
        let size = (byID.keys.max() ?? -1) + 1
        let tokens = (0..<size).map { byID[$0] ?? ("[PAD\($0)]", 5) }
        let merges = try root["model"]["merges"].array.map { m -> String in
            if case let .string(s) = m.value { return s }
            return try m.array.map { try $0.string }.joined(separator: " ")
        }
        func special(_ key: String) -> Int? {
            guard let n = config.optional(key) else { return nil }
            return ((try? n.string) ?? (try? n["content"].string)).flatMap { ids[$0] }
        }
        var w = Writer()
        var kv: [(String, (inout Writer) -> Void)] = [
            ("general.architecture", { $0.string("llama") }),
            ("tokenizer.ggml.model", { $0.string("gpt2") }),
            ("tokenizer.ggml.pre", { $0.string(pre) }),
            ("tokenizer.ggml.tokens", { $0.stringArray(tokens.map(\.0)) }),
            ("tokenizer.ggml.token_type", { $0.int32Array(tokens.map(\.1)) }),
            ("tokenizer.ggml.merges", { $0.stringArray(merges) }),
            ("tokenizer.ggml.add_bos_token", { w in w.u32(7); w.bytes([(try? config["add_bos_token"].bool) == true ? 1 : 0]) }),
        ]
        if let b = special("bos_token") { kv.append(("tokenizer.ggml.bos_token_id", { $0.u32(4); $0.u32(UInt32(b)) })) }
        if let e = special("eos_token") { kv.append(("tokenizer.ggml.eos_token_id", { $0.u32(4); $0.u32(UInt32(e)) })) }
        w.u32(0x4655_4747); w.u32(3); w.u64(0); w.u64(UInt64(kv.count))
        for (key, value) in kv { w.rawString(key); value(&w) }
        try Data(w.out).write(to: URL(fileURLWithPath: path))
    }

    struct Writer {
        var out: [UInt8] = []
        mutating func bytes(_ b: [UInt8]) { out += b }
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        mutating func rawString(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        mutating func string(_ s: String) { u32(8); rawString(s) }
        mutating func stringArray(_ a: [String]) { u32(9); u32(8); u64(UInt64(a.count)); for s in a { rawString(s) } }
        mutating func int32Array(_ a: [Int32]) {
            u32(9); u32(5); u64(UInt64(a.count))
            for v in a { u32(UInt32(bitPattern: v)) }
        }
    }
}
