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

/// Every llama.cpp pre-tokenizer name Strata maps compiles, and splits like its HF counterpart.
@Suite struct GGUFPreTokenizerTests {
    @Test func everyKnownNameCompiles() throws {
        for name in Tokenizer.ggufPreTokenizerNames { _ = try Tokenizer.ggufPreTokenizer(named: name) }
        #expect(throws: TokenizerError.self) { try Tokenizer.ggufPreTokenizer(named: "no-such-pre") }
    }

    @Test(arguments: [
        // The third DeepSeek LLM regex's class `:-~` includes ASCII letters, so it re-splits "wörld" (HF does too).
        ("deepseek-llm", "Hello, wörld 123\nΑθήνα 中文", ["Hello", ",", " w", "ö", "rld", " ", "123", "\n", "Αθήνα", " ", "中文"]),
        ("deepseek-v3", "Hello, wörld 12345 中文かな", ["Hello", ",", " wörld", " ", "123", "45", " ", "中文かな"]),
        ("smollm", "I'm 42!", ["I", "'m", " ", "4", "2", "!"]),
        ("llama-bpe", "I'M 12345 ok", ["I", "'M", " ", "123", "45", " ok"]),
    ])
    func splitsLikeLlamaCpp(name: String, text: String, expected: [String]) throws {
        var p = Pieces(ScalarText(text))
        try Tokenizer.ggufPreTokenizer(named: name).apply(&p)
        let pieces = p.ranges.map { r in String(String.UnicodeScalarView(p.text.scalars[r].map { Unicode.Scalar($0)! })) }
        #expect(pieces == expected, "\(name)")
    }
}
