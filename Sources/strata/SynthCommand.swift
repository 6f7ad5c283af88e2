import ArgumentParser
import Foundation
import StrataKernels
import StrataModel

/// `strata synth --shape deepseek-llm-67b --layers 8 --dtype fp8 --out DIR`: a checkpoint in a real
/// DeepSeek shape (config, tensor names and shapes, tokenizer) with deterministic synthetic weights.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a DeepSeek-shaped HF checkpoint with synthetic weights (the stand-in for weights that cannot be downloaded).")

    @Option(help: "Shape: \(SyntheticShape.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shape: String
    @Option(help: "Decoder layers (the rest of the shape is the published one).")
    var layers: Int
    @Option(help: "Weights: bf16, or fp8 (E4M3 with 128×128 weight_scale_inv, the DeepSeek-V3 layout).")
    var dtype: String = "fp8"
    @Option(help: "Output directory (new or empty).")
    var out: String
    @Option(help: "Seed (0 = the weights `strata bench decode` generates).")
    var seed: UInt64 = 0
    @Option(help: "Directory with tokenizer.json (default: the DeepSeek LLM tokenizer of the test assets).")
    var tokenizer: String?
    @Option(help: "Threads generating weights (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard SyntheticShape(rawValue: shape) != nil else {
            throw ValidationError("--shape '\(shape)' is not one of \(SyntheticShape.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard SyntheticCheckpoint.DType(rawValue: dtype) != nil else { throw ValidationError("--dtype '\(dtype)' must be bf16 or fp8") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let assets = ProcessInfo.processInfo.environment["STRATA_CACHE"].map { $0 + "/assets" }
            ?? NSHomeDirectory() + "/.cache/strata/assets"
        let tokenizerDir = tokenizer ?? assets + "/tokenizers/deepseek-llm-7b-base"
        guard FileManager.default.fileExists(atPath: tokenizerDir + "/tokenizer.json") else {
            throw ValidationError("no tokenizer.json in \(tokenizerDir) (ops/test or ops/quickstart fetch the DeepSeek tokenizers; or pass --tokenizer DIR)")
        }
        let options = SyntheticCheckpoint.Options(shape: SyntheticShape(rawValue: shape)!, layers: layers,
                                                  dtype: SyntheticCheckpoint.DType(rawValue: dtype)!, outDirectory: out, seed: seed,
                                                  tokenizerDirectory: tokenizerDir)
        let t0 = Date()
        let summary: SyntheticCheckpoint.Summary
        do {
            summary = try SyntheticCheckpoint.write(options, pool: ThreadPool(threads: threads)) { stderr($0 + "\n") }
        } catch let e as SyntheticCheckpoint.SynthError {
            throw ValidationError("\(e)")
        } catch let e as SafetensorsFileWriter.WriteError {
            throw ValidationError("\(e)")
        }
        let seconds = Date().timeIntervalSince(t0)
        print("wrote \(out): \(summary.files.count) files, \(String(format: "%.2f", Double(summary.bytes) / 1e9)) GB in "
            + "\(String(format: "%.1f", seconds)) s")
    }
}
