import Foundation
import StrataTestSupport
import StrataTokenizer
import Testing

/// The committed fixture written by ops/gen-chat-fixtures (transformers' apply_chat_template).
struct ChatFixture {
    struct Case {
        let template: String
        let conversation: String
        let addGenerationPrompt: Bool
        let expected: String?
        let error: String?
    }
    struct TemplateInfo {
        let kind: String
        let asset: String
        let source: String
        let specialTokens: [String: String]
    }

    let templates: [String: TemplateInfo]
    let conversations: [String: [ChatMessage]]
    let cases: [Case]
    let jinjaCases: [ValueDict]

    static let shared: ChatFixture = try! load()

    static func load() throws -> ChatFixture {
        let url = try #require(Bundle.module.url(forResource: "chat-templates", withExtension: "json", subdirectory: "Fixtures"))
        let root = try PyJSON.parse(String(decoding: try Data(contentsOf: url), as: UTF8.self))
        guard case let .dict(d) = root, case let .dict(t)? = d["templates"], case let .array(convs)? = d["conversations"],
              case let .array(cs)? = d["cases"], case let .array(js)? = d["jinja_cases"] else {
            throw ChatTemplateError.invalidInput("malformed fixture")
        }
        var templates: [String: TemplateInfo] = [:]
        for (k, v) in t {
            guard case let .dict(info) = v, case let .dict(special)? = info["special_tokens"] else { continue }
            templates[k.pyStr] = TemplateInfo(
                kind: info["kind"]!.pyStr, asset: info["asset"]!.pyStr, source: info["source"]!.pyStr,
                specialTokens: Dictionary(uniqueKeysWithValues: special.map { ($0.pyStr, $1.pyStr) }))
        }
        var conversations: [String: [ChatMessage]] = [:]
        for case let .dict(c) in convs {
            guard case let .array(ms)? = c["messages"] else { continue }
            conversations[c["name"]!.pyStr] = try ms.map(ChatMessage.init(json:))
        }
        let cases = cs.compactMap { v -> Case? in
            guard case let .dict(c) = v else { return nil }
            return Case(template: c["template"]!.pyStr, conversation: c["conversation"]!.pyStr,
                        addGenerationPrompt: c["add_generation_prompt"]!.isTruthy,
                        expected: c["expected"]?.stringValue, error: c["error"]?.stringValue)
        }
        let jinja = js.compactMap { v -> ValueDict? in if case let .dict(c) = v { return c }; return nil }
        return ChatFixture(templates: templates, conversations: conversations, cases: cases, jinjaCases: jinja)
    }
}

/// Exact comparison by UTF-8 bytes (Swift's String == would equate canonically equivalent text).
func sameBytes(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

@Suite("ChatTemplate: real templates vs transformers")
struct ChatTemplateTests {
    static let hfTemplates = [
        "deepseek-r1", "deepseek-r1-distill-llama-8b", "deepseek-r1-distill-qwen-7b", "deepseek-v3", "deepseek-v2.5",
        "deepseek-v3.1", "deepseek-v2", "deepseek-r1-0528-qwen3-8b", "deepseek-vl2-small",
    ]

    @Test func fixtureCoversEveryTemplate() throws {
        let f = ChatFixture.shared
        #expect(Set(f.templates.keys) == Set(Self.hfTemplates + ["smollm2"]))
        #expect(f.conversations.count >= 10)
        for name in f.templates.keys {
            #expect(f.cases.filter { $0.template == name }.count == 2 * f.conversations.count)
        }
    }

    @Test(.enabled(if: TestAssets.available(TestAssets.tokenizerDirectory("deepseek-v3"))), arguments: hfTemplates)
    func modelDirectoryTemplateMatchesTransformers(_ name: String) throws {
        let template = try ChatTemplate.load(modelPath: TestAssets.tokenizerDirectory(name))
        try check(name, template)
    }

    @Test(.enabled(if: TestAssets.available(TestAssets.smolLM2)))
    func ggufTemplateMatchesTransformers() throws {
        let template = try ChatTemplate.load(modelPath: TestAssets.smolLM2)
        try check("smollm2", template)
    }

    private func check(_ name: String, _ template: ChatTemplate) throws {
        let f = ChatFixture.shared
        let info = try #require(f.templates[name])
        #expect(sameBytes(template.source, info.source), "\(name): the asset's template changed; rerun ops/gen-chat-fixtures")
        #expect(template.specialTokens == info.specialTokens)
        var matched = 0
        let cases = f.cases.filter { $0.template == name }
        for c in cases {
            let messages = try #require(f.conversations[c.conversation])
            let label = "\(name) / \(c.conversation) / add_generation_prompt=\(c.addGenerationPrompt)"
            do {
                let rendered = try template.render(messages: messages, addGenerationPrompt: c.addGenerationPrompt)
                if let expected = c.expected, sameBytes(rendered, expected) {
                    matched += 1
                } else {
                    Issue.record("\(label): got \(rendered.debugDescription), expected \(c.expected?.debugDescription ?? "error \(c.error ?? "")")")
                }
            } catch let error as ChatTemplateError {
                if c.error != nil { matched += 1 } else { Issue.record("\(label): unexpected error \(error)") }
            }
        }
        #expect(matched == cases.count, "\(name): \(matched)/\(cases.count) cases match transformers")
    }
}
