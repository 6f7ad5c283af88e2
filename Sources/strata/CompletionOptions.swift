import ArgumentParser
import Foundation
import StrataModel
import StrataTokenizer

/// Sampling and length options of a plain completion (`generate`, `up --prompt`, `coordinator --prompt`).
struct CompletionOptions: ParsableArguments {
    @Option(help: "Most tokens to generate.")
    var maxTokens: Int = 128
    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.8
    @Option(help: "Nucleus sampling threshold.")
    var topP: Float = 0.95
    @Option(help: "Keep only the k most likely tokens (0: off).")
    var topK: Int = 40
    @Option(help: "Drop tokens below min-p × the top probability (0: off).")
    var minP: Float = 0.05
    @Option(help: "Repetition penalty (1: off).")
    var repeatPenalty: Float = 1
    @Option(help: "Random seed (default: random).")
    var seed: UInt64?

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be ≥ 0") }
    }

    func sampling() throws -> SamplingParameters {
        let s = SamplingParameters(
            temperature: temperature, topK: topK, topP: topP, minP: minP,
            repetitionPenalty: repeatPenalty, seed: seed ?? UInt64.random(in: 0...UInt64.max))
        try s.validate()
        return s
    }
}

/// One plain completion on any `ForwardPass`, streamed to stdout as `strata generate` prints it.
enum Completion {
    static func run(prompt: String, model: ForwardPass, tokenizer: Tokenizer, stopTokens: Set<Int>,
                    maxTokens: Int, sampling: SamplingParameters) throws -> GenerationStats {
        let ids = tokenizer.encode(prompt)
        let stream = StdoutStream()
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        let stats = try Generator(model: model, stopTokens: stopTokens).generate(prompt: ids, maxTokens: maxTokens, sampling: sampling) { token in
            stream.write(decoder.push(token))
        }
        stream.write(decoder.finish())
        return stats
    }

    /// The two closing stderr lines: prompt and generation tokens/s.
    static func speedLines(_ stats: GenerationStats) -> String {
        """
        prompt: \(stats.promptTokens) tokens, \(fmt(stats.promptTokensPerSecond)) tokens/s
        generation: \(stats.generatedTokens) tokens, \(fmt(stats.generationTokensPerSecond)) tokens/s
        """
    }

    /// The tokenizer and stop tokens of a model path (reads metadata, no weights).
    static func tokenizer(modelPath: String) throws -> (Tokenizer, Set<Int>) {
        let source = try ModelSource(path: modelPath)
        let tokenizer = try source.gguf.map { try Tokenizer(gguf: $0) } ?? Tokenizer(directory: source.path)
        var stops = Set(source.config.eosTokenIDs)
        if let eos = tokenizer.eosTokenID { stops.insert(eos) }
        return (tokenizer, stops)
    }
}
