import ArgumentParser
import Foundation
import StrataModel
import StrataTokenizer

struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity of a text file by llama.cpp's method (chunks of N tokens, second halves scored).")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Text file to score.")
    var file: String
    @Option(help: "Tokens per chunk.")
    var context: Int = 512

    func validate() throws {
        guard context >= 2 else { throw ValidationError("--context must be at least 2") }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let engine = try Engine.open(modelOptions)
        let tokens = engine.tokenizer.encode(String(decoding: data, as: UTF8.self))
        guard tokens.count >= 2 * context else {
            throw ValidationError("\(file) has \(tokens.count) tokens; need at least \(2 * context) for --context \(context)")
        }
        let result = try engine.model.perplexity(tokens: tokens, context: context) { chunk, ppl in
            stderr("[\(chunk)] \(String(format: "%.4f", ppl))\n")
        }
        print("chunks: \(result.chunks), scored tokens: \(result.scoredTokens)")
        print("perplexity: \(String(format: "%.4f", result.perplexity))")
    }
}
