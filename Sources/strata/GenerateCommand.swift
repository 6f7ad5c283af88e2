import ArgumentParser
import Foundation
import StrataModel
import StrataTokenizer

extension WeightPrecision: ExpressibleByArgument {}
extension TablePrecision: ExpressibleByArgument {}

/// Options shared by commands that load a model.
struct ModelOptions: ParsableArguments {
    @Option(help: "A .gguf file or an HF model directory.")
    var model: String
    @Option(help: "Worker threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Linear weights in memory: fp8 (block-scaled E4M3) or f32 (reference).")
    var weights: WeightPrecision = .fp8
    @Option(help: "Embedding and output head: f16, f32 or fp8 (default: f32 with --weights f32, else f16).")
    var tables: TablePrecision?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plain completion in one process; the generated text streams to stdout.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Prompt text (no chat template; the tokenizer's BOS rule applies).")
    var prompt: String
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

    func run() throws {
        let sampling = SamplingParameters(
            temperature: temperature, topK: topK, topP: topP, minP: minP,
            repetitionPenalty: repeatPenalty, seed: seed ?? UInt64.random(in: 0...UInt64.max))
        try sampling.validate()
        let engine = try Engine.open(modelOptions)
        let ids = engine.tokenizer.encode(prompt)
        let stream = StdoutStream()
        var decoder = StreamingDecoder(tokenizer: engine.tokenizer)
        let stats = try engine.generator.generate(prompt: ids, maxTokens: maxTokens, sampling: sampling) { token in
            stream.write(decoder.push(token))
        }
        stream.write(decoder.finish())
        let mib = { (b: Int) in String(format: "%.1f MiB", Double(b) / 1_048_576) }
        stderr("""

            memory: \(mib(residentBytes())) resident (weights \(mib(engine.model.weightBytes)), KV cache \(mib(engine.model.peakKVCacheBytes)))
            prompt: \(stats.promptTokens) tokens, \(fmt(stats.promptTokensPerSecond)) tokens/s
            generation: \(stats.generatedTokens) tokens, \(fmt(stats.generationTokensPerSecond)) tokens/s

            """)
    }
}

/// Resident set size of this process (VmRSS), 0 where /proc is absent.
func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb * 1024
}

func fmt(_ x: Double) -> String { String(format: "%.2f", x) }

func stderr(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

/// Unbuffered stdout for streaming text: every chunk is written as it is produced.
final class StdoutStream {
    func write(_ s: String) {
        guard !s.isEmpty else { return }
        FileHandle.standardOutput.write(Data(s.utf8))
    }
}
