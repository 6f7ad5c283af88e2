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

    func run() throws {
        do {
            let template = try ChatTemplate.load(modelPath: model)
            guard let data = FileManager.default.contents(atPath: messages) else {
                throw ChatTemplateError.invalidInput("cannot read messages file \(messages)")
            }
            guard case let .array(items) = try JSON.parse(String(decoding: data, as: UTF8.self)) else {
                throw ChatTemplateError.invalidInput("\(messages): expected a JSON array of messages")
            }
            let chat = try items.map(ChatMessage.init(json:))
            print(try template.render(messages: chat, addGenerationPrompt: addGenerationPrompt), terminator: "")
        } catch let error as ChatTemplateError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
