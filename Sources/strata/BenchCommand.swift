import ArgumentParser
import Foundation
import StrataKernels
import StrataModel

/// `strata bench …`: micro-benchmarks of this machine.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure kernels on this machine.",
        subcommands: [BenchKernels.self, BenchDecode.self, BenchBatch.self, BenchPipeline.self, BenchServe.self, BenchLoad.self, BenchQuantize.self, BenchStartup.self])
}

/// `strata bench kernels`: read bandwidth, FP8 GEMV bandwidth ratio, FP8 GEMM GFLOP/s.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Read bandwidth, FP8 GEMV (decode) bandwidth and FP8 GEMM (prefill) GFLOP/s.")

    @Option(help: "Threads for the all-thread figures (default: all cores).")
    var threads: Int?

    @Option(help: "Timed passes per figure; medians are reported.")
    var passes: Int = 7

    @Option(help: "Comma-separated GEMM batch sizes (empty: no GEMM figures).")
    var gemmBatches: String = "16,64,256"

    @Flag(help: "Only the GEMM figures (for profiling).")
    var gemmOnly = false

    @Flag(help: "Time with process CPU time (tuning aid on a busy machine; 1-thread figures only).")
    var cpuTime = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if passes < 1 { throw ValidationError("--passes must be at least 1 (got \(passes))") }
        _ = try batches()
    }

    /// `--gemm-batches` as positive integers.
    func batches() throws -> [Int] {
        try gemmBatches.split(separator: ",").map { item in
            let text = item.trimmingCharacters(in: .whitespaces)
            guard let n = Int(text), n > 0 else {
                throw ValidationError("--gemm-batches: '\(text)' is not a positive batch size")
            }
            return n
        }
    }

    func run() throws {
        var options = KernelBench.Options(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        options.passes = passes
        options.gemmOnly = gemmOnly
        options.gemmBatches = try batches()
        options.cpuTime = cpuTime
        KernelBench.run(options)
    }
}

/// `strata bench quantize`: f32 → block-scaled FP8 conversion speed (what loading a non-FP8
/// checkpoint costs), fast path against the scalar reference.
struct BenchQuantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "FP8 quantization speed at load (scale search + encode), fast path vs scalar reference.")

    @Option(help: "Threads for the pooled figure (default: all cores).")
    var threads: Int?

    @Option(help: "Matrix rows and columns (default: 4096, DeepSeek LLM 7B's attention projection).")
    var size: Int = 4096

    @Option(help: "Timed passes per figure; medians are reported.")
    var passes: Int = 5

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if size < 128 || size > 32768 { throw ValidationError("--size must be 128…32768 (got \(size))") }
        if passes < 1 { throw ValidationError("--passes must be at least 1 (got \(passes))") }
    }

    func run() throws {
        var o = QuantizeBench.Options(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        o.rows = size; o.cols = size; o.passes = passes
        QuantizeBench.run(o)
    }
}

extension SyntheticShape: ExpressibleByArgument {}

/// `strata bench decode`: decode tok/s of N synthetic FP8 layers in a real shape vs the bandwidth bound.
struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode through N synthetic FP8 decoder layers in DeepSeek LLM shapes; ratio to the bandwidth bound.")

    @Option(help: "Model shape: \(SyntheticShape.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shape: SyntheticShape = .deepSeekLLM7B

    @Option(help: "Decoder layers (default: as many as fit in 6 GiB of weights; 7B: 30, 67B: 9).")
    var layers: Int?

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Option(help: "Timed decode steps; the median is reported.")
    var tokens: Int = 16

    func options() -> DecodeBench.Options {
        var o = DecodeBench.Options(shape: shape, layers: layers ?? DecodeBench.Options.defaultLayers(shape),
                                    threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        o.tokens = tokens
        return o
    }

    func validate() throws {
        do { try options().validate() } catch let e as DecodeBenchError { throw ValidationError(e.description) }
    }

    func run() throws { try DecodeBench.run(options()) }
}

/// `strata bench batch`: batch-1 vs batch-N decode steps on a real checkpoint, part by part.
struct BenchBatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Decode steps at batch 1 and batch N on a real checkpoint, in one process: the ceiling of the batched-decode ratio, part by part.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Sequences decoded together.")
    var batch: Int = 8
    @Option(help: "Timed passes per figure; medians are reported.")
    var passes: Int = 15

    func validate() throws {
        try BatchBench.Options(batch: batch, passes: passes).validate()
    }

    func run() throws {
        let source = try ModelSource(path: modelOptions.model)
        let model = try LocalModel(source: source, precision: modelOptions.weights, tablePrecision: modelOptions.tables,
                                   threads: modelOptions.threads)
        try BatchBench.run(model, BatchBench.Options(batch: batch, passes: passes))
    }
}
