import ArgumentParser
import StrataKernels
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
    @OptionGroup var completion: CompletionOptions

    func run() throws {
        let sampling = try completion.sampling()
        let engine = try Engine.open(modelOptions)
        let stats = try Completion.run(prompt: prompt, model: engine.model, tokenizer: engine.tokenizer,
                                       stopTokens: engine.generator.stopTokens, maxTokens: completion.maxTokens, sampling: sampling)
        let mib = { (b: Int) in String(format: "%.1f MiB", Double(b) / 1_048_576) }
        stderr("""

            kernels: \(Kernels.active.isa.rawValue)
            memory: \(mib(residentBytes())) resident (weights \(mib(engine.model.weightBytes)), KV cache \(mib(engine.model.peakKVCacheBytes)))
            \(Completion.speedLines(stats))

            """)
    }
}

/// Resident set size of this process (VmRSS), 0 where /proc is absent.
func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          // "VmRSS:\t 8741580 kB", but "VmRSS:\t12020380 kB" from 10 GB on: split on any whitespace.
          let kb = Int(line.split(whereSeparator: { $0.isWhitespace }).dropFirst().first ?? "") else { return 0 }
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
