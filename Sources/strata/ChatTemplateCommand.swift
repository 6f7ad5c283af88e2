import ArgumentParser
import Foundation
import StrataTokenizer

/// `strata chat-template`: renders a conversation with a model's chat template, byte for byte as
/// transformers' `apply_chat_template(..., tokenize=False)` would.
struct ChatTemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-template",
        abstract: "Render a conversation with a model's chat template.")

    @Option(name: .long, help: "An HF model directory (tokenizer_config.json) or a .gguf file.")
    var model: String

    @Option(name: .long, help: "A JSON file holding an array of {\"role\", \"content\", ...} messages.")
    var messages: String

    @Flag(name: .long, help: "End with the header that starts the assistant's reply.")
    var addGenerationPrompt = false

    @Option(name: .long, help: "A JSON file holding an object of extra template variables (tools, enable_thinking, ...).")
    var variables: String?

    func run() throws {
        do {
            let template = try ChatTemplate.load(modelPath: model)
            guard let data = FileManager.default.contents(atPath: messages) else {
                throw ChatTemplateError.invalidInput("cannot read messages file \(messages)")
            }
            let parsed: Value
            do { parsed = try PyJSON.parse(String(decoding: data, as: UTF8.self)) } catch let error as ChatTemplateError {
                throw ChatTemplateError.invalidInput("\(messages): \(error)")
            }
            guard case let .array(items) = parsed else {
                throw ChatTemplateError.invalidInput("\(messages): expected a JSON array of messages")
            }
            let chat = try items.map(ChatMessage.init(json:))
            var extra: [String: Value] = [:]
            if let variables {
                guard let data = FileManager.default.contents(atPath: variables),
                      case let .dict(d) = try PyJSON.parse(String(decoding: data, as: UTF8.self)) else {
                    throw ChatTemplateError.invalidInput("\(variables): expected a JSON object of template variables")
                }
                for (k, v) in d { extra[k.pyStr] = v }
            }
            let prompt = try template.render(messages: chat, addGenerationPrompt: addGenerationPrompt, extra: extra)
            print(prompt, terminator: "")
        } catch let error as ChatTemplateError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
