import Foundation
import StrataTokenizer
import Testing

/// Broken or unsupported tokenizer.json files throw a `TokenizerError` naming the problem; none crash.
@Suite struct MalformedTokenizerTests {
    static let model = #""model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}"#

    func load(_ text: String) throws -> Tokenizer { try Tokenizer(json: JSON.parse(text)) }

    func error(_ text: String) -> TokenizerError? {
        do {
            _ = try load(text)
            return nil
        } catch let e as TokenizerError { return e } catch { return .invalidInput("\(error)") }
    }

    @Test func validMinimalFileLoads() throws {
        #expect(try load("{" + Self.model + "}").encode("ab") == [2])
    }

    @Test(arguments: [
        ("", "invalid JSON"),
        ("{", "invalid JSON"),
        ("[1, 2", "invalid JSON"),
        ("{\"model\": tru}", "invalid JSON"),
        (String(repeating: "[", count: 5000), "nesting too deep"),
        ("[]", "<root>: expected an object"),
        ("{}", "model: expected a value"),
        ("{\"model\":{\"type\":\"BPE\",\"vocab\":[],\"merges\":[]}}", "model.vocab: expected an object"),
        ("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"},\"merges\":[]}}", "model.vocab.a: expected an integer"),
        ("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", "model.vocab.a: expected an id in 0..<2^24"),
        ("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0}}}", "model.merges: expected a value"),
        ("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a\"]}}", "model.merges[0]"),
        ("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[[\"a\",1]]}}", "model.merges[0]"),
        ("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a c\"]}}", "token \"c\" is not in the vocabulary"),
        ("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", "unsupported model type 'WordPiece'"),
        ("{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[],\"dropout\":0.1}}", "dropout"),
        ("{\"normalizer\":{\"type\":\"BertNormalizer\"}," + model + "}", "unsupported normalizer type 'BertNormalizer'"),
        ("{\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"kind\":1}]}," + model + "}",
         "normalizer.normalizers[1].type"),
        ("{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Whitespace\"}]}," + model + "}",
         "unsupported pre_tokenizer.pretokenizers[0] type 'Whitespace'"),
        ("{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?<=a)b\"},\"behavior\":\"Isolated\"}," + model + "}",
         "lookbehind"),
        ("{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Sideways\"}," + model + "}",
         "pre_tokenizer.behavior type 'Sideways'"),
        ("{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Glob\":\"a\"},\"behavior\":\"Isolated\"}," + model + "}",
         "pre_tokenizer.pattern"),
        ("{\"added_tokens\":[{\"id\":5}]," + model + "}", "added_tokens[0].content: expected a value"),
        ("{\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}}],\"special_tokens\":{}}," + model + "}",
         "<s>"),
        ("{\"decoder\":{\"type\":\"CTC\"}," + model + "}", "unsupported decoder type 'CTC'"),
    ])
    func malformedFilesThrowNamedErrors(text: String, mention: String) {
        guard let e = error(text) else { Issue.record("loaded: \(text.prefix(80))"); return }
        #expect("\(e)".contains(mention), "error \"\(e)\" should mention \(mention)")
    }

    @Test func truncatedRealSizedFileThrows() throws {
        let text = "{" + Self.model + ",\"added_tokens\":[{\"id\":3,\"content\":\"<s>\",\"special\":true}]}"
        for cut in stride(from: 0, to: text.utf8.count - 1, by: 7) {
            let prefix = String(decoding: Array(text.utf8)[..<cut], as: UTF8.self)
            #expect(throws: TokenizerError.self) { try load(prefix) }
        }
    }

    @Test func missingFilesThrowUnreadable() {
        #expect(throws: TokenizerError.unreadable(path: "/nonexistent/tokenizer.json", reason: "no such file or directory")) {
            try Tokenizer.load(path: "/nonexistent/tokenizer.json")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-empty-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: TokenizerError.self) { try Tokenizer.load(path: dir.path) }
    }
}
