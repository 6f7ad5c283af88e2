import Foundation
import StrataModel
import StrataTestSupport
import StrataTokenizer
import Testing

/// The GGUF tokenizer path on DeepSeek vocabularies against llama.cpp's ids
/// (Fixtures/gguf-<name>-llamacpp.json, from ops/gen-gguf-tokenizer-fixtures). The vocab-only GGUF
/// is rebuilt here from the cached tokenizer.json exactly as that script wrote it.
@Suite struct GGUFLlamaCppParityTests {
    static let pre = ["deepseek-llm-7b-base": "deepseek-llm", "deepseek-v3": "deepseek-v3",
                      "deepseek-r1-distill-qwen-7b": "deepseek-r1-qwen", "deepseek-r1-distill-llama-8b": "llama-bpe"]
    /// Strings where llama.cpp is known to differ, with the reason. llama.cpp (as vendored by
    /// llama-cpp-python 0.3.36) treats the ordinary Qwen vocabulary token "</s>" as a special token
    /// when parsing specials; the rule behind that is not identified yet, so Strata BPE-splits it.
    static let knownDivergences: [String: Set<String>] = ["deepseek-r1-distill-qwen-7b": ["<s>[INST] hi [/INST]</s>"]]
    static let cases = Fixtures.names.filter { TestAssets.available(Fixtures.tokenizerPath($0)) }

    @Test("GGUF encode equals llama.cpp", arguments: cases)
    func encodeMatchesLlamaCpp(name: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("strata-\(getpid())-\(name).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try GGUFVocabWriter.write(tokenizerDirectory: TestAssets.tokenizerDirectory(name), pre: Self.pre[name]!, to: path)
        let tok = try Tokenizer(gguf: GGUFFile(path: path))
        let ref = try JSONNode(Fixtures.json("gguf-\(name)-llamacpp.json"))["ids"].array.map { try $0.array.map { try $0.int } }
        #expect(ref.count == Fixtures.corpus.count)
        let known = Self.knownDivergences[name] ?? []
        var matched = 0
        for (i, text) in Fixtures.corpus.enumerated() where i < ref.count {
            let ids = tok.encode(text)
            if known.contains(text) {
                #expect(ids != ref[i], "gguf \(name) string #\(i): known divergence now matches; drop it from the list")
                continue
            }
            #expect(ids == ref[i], "gguf \(name) string #\(i) \(text.debugDescription.prefix(80))")
            if ids == ref[i] { matched += 1 }
        }
        #expect(matched == ref.count - known.count, "gguf \(name): \(matched)/\(ref.count - known.count) strings match llama.cpp")
    }
}
