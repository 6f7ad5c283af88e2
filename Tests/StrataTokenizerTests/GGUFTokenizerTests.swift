import StrataModel
import StrataTestSupport
import StrataTokenizer
import Testing

/// The GGUF tokenizer of SmolLM2 against llama.cpp's ids (Fixtures/smollm2-*.json).
@Suite(.enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct GGUFTokenizerTests {
    func tokenizer() throws -> Tokenizer { try Fixtures.tokenizer(TestAssets.smolLM2) }

    @Test func matchesLlamaCppTokenizeReference() throws {
        let tok = try tokenizer()
        let entries = try JSONNode(Fixtures.json("smollm2-tokenize-llamacpp.json")).array
        #expect(entries.count == 16)
        for (i, e) in entries.enumerated() {
            let text = try e["text"].string
            let expected = try e["ids"].array.map { try $0.int }
            #expect(tok.encode(text) == expected, "smollm2 string #\(i) \(text.debugDescription)")
        }
    }

    @Test func matchesLlamaCppPromptIDs() throws {
        let tok = try tokenizer()
        let prompts = try JSONNode(Fixtures.json("smollm2-llamacpp.json"))["prompts"].array
        #expect(prompts.count == 5)
        for (i, p) in prompts.enumerated() {
            let text = try p["prompt"].string
            let expected = try p["prompt_ids"].array.map { try $0.int }
            #expect(tok.encode(text) == expected, "smollm2 prompt #\(i) \(text.debugDescription)")
        }
    }

    @Test func readsSpecialTokensAndDecodes() throws {
        let tok = try tokenizer()
        #expect(tok.id(for: "<|im_start|>") == 1)
        #expect(tok.bosTokenID != nil && tok.eosTokenID != nil)
        let text = "<|im_start|>user\nHi there 🤖<|im_end|>\n"
        #expect(tok.decode(tok.encode(text)) == text)
        #expect(tok.decode(tok.encode(text), skipSpecialTokens: true) == "user\nHi there 🤖\n")
    }
}
