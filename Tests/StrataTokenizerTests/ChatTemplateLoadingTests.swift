import Foundation
import StrataTokenizer
import Testing

/// Where `ChatTemplate.load` finds a template, as transformers does.
@Suite("ChatTemplate loading")
struct ChatTemplateLoadingTests {
    private func directory(config: String, jinja: String? = nil) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-ct-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try config.write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        if let jinja { try jinja.write(to: dir.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8) }
        return dir.path
    }

    private let hi = [ChatMessage(role: "user", content: "hi")]

    @Test func namedTemplatesPickDefaultOrToolUse() throws {
        let dir = try directory(config: #"""
            {"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>", "unk_token": null,
             "chat_template": [{"name": "default", "template": "{{ bos_token }}D{{ messages[0].content }}"},
                               {"name": "tool_use", "template": "T{{ tools | length }}{{ eos_token }}"}]}
            """#)
        let t = try ChatTemplate.load(modelPath: dir)
        #expect(t.specialTokens == ["bos_token": "<s>", "eos_token": "</s>"])
        #expect(try t.render(messages: hi, addGenerationPrompt: false) == "<s>Dhi")
        #expect(try t.render(messages: hi, addGenerationPrompt: false, extra: ["tools": .array([.object(["name": .string("f")])])]) == "T1</s>")
    }

    @Test func chatTemplateJinjaFileWinsAndLosesItsTrailingNewline() throws {
        let dir = try directory(config: #"{"chat_template": "A"}"#, jinja: "B{{ messages | length }}\n")
        #expect(try ChatTemplate.load(modelPath: dir).render(messages: hi, addGenerationPrompt: false) == "B1")
    }

    @Test func missingTemplateIsAnInputError() throws {
        let dir = try directory(config: "{}")
        #expect(throws: ChatTemplateError.self) { try ChatTemplate.load(modelPath: dir) }
        #expect(throws: ChatTemplateError.self) { try ChatTemplate.load(modelPath: dir + "/nope") }
    }
}
