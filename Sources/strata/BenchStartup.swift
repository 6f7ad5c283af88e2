import ArgumentParser
import Foundation
import StrataKernels
import StrataModel

/// `strata bench startup`: how long a checkpoint slice takes to become ready, next to reading the
/// same bytes from the page cache.
///
/// Each pass opens the checkpoint afresh (new memory maps, so both sides pay the page faults) and
/// alternates: (read) sum every byte of the slice's tensors; (ready) load the slice as a worker does
/// — its layers, plus the embedding on the first stage and the final norm and head on the last.
/// The files are read once before timing, so both run from the page cache. For an FP8 checkpoint
/// the codes are mapped in place, so ready ≈ touching them: `load_ratio` (ready ÷ read) near 1.
struct BenchStartup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "startup",
        abstract: "Time to ready for a checkpoint slice ÷ time to read its bytes from the page cache (last line load_ratio: X).")

    @Option(help: "A .gguf file or an HF model directory.")
    var model: String

    @Option(help: "Layers of the slice, half-open A..B (default: all).")
    var layers: String?

    @Option(help: "Threads for converting non-FP8 weights (default: all cores).")
    var threads: Int?

    @Option(help: "Timed passes per figure; medians are reported.")
    var passes: Int = 3

    func validate() throws {
        if passes < 1 { throw ValidationError("--passes must be at least 1 (got \(passes))") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if let layers, Self.parseRange(layers) == nil { throw ValidationError("--layers: '\(layers)' is not A..B with 0 ≤ A < B") }
    }

    static func parseRange(_ text: String) -> Range<Int>? {
        let parts = text.components(separatedBy: "..")
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, a < b else { return nil }
        return a..<b
    }

    func run() throws {
        let first = try ModelSource(path: model)
        let count = first.config.layerCount
        let range = layers.flatMap(Self.parseRange) ?? 0..<count
        guard range.upperBound <= count else {
            throw ValidationError("--layers \(range.lowerBound)..\(range.upperBound): the model has \(count) layers")
        }
        var names = range.flatMap { i in CanonicalName.Module.allCases.map { CanonicalName.weight(i, $0) } }
        if range.lowerBound == 0 { names.append(CanonicalName.embedTokens) }
        if range.upperBound == count {
            names.append(CanonicalName.finalNorm)
            if !first.config.tiedEmbeddings { names.append(CanonicalName.lmHead) }
        }
        names = names.filter(first.weights.contains)
        let pool = ThreadPool(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)

        func readAll() throws -> (bytes: Int, sum: UInt64) {
            let source = try ModelSource(path: model)
            var bytes = 0, sum: UInt64 = 0
            for name in names {
                let t = try source.weights.tensor(name)
                for b in [t.bytes] + (t.blockScales.map { [$0] } ?? []) {
                    bytes += b.count
                    sum &+= Self.wordSum(b)
                }
            }
            return (bytes, sum)
        }
        func ready() throws {
            let loader = ModelLoader(source: try ModelSource(path: model), precision: .fp8, pool: pool)
            let stack = try loader.loadStack(range)
            let embedding = range.lowerBound == 0 ? try loader.loadEmbedding() : nil
            let head = range.upperBound == count ? try loader.loadHead(sharing: embedding) : nil
            let norm = range.upperBound == count ? try loader.loadFinalNorm() : nil
            withExtendedLifetime((stack, embedding, head, norm)) {}
        }

        let (bytes, _) = try readAll()   // into the page cache
        var readTimes: [Double] = [], readyTimes: [Double] = []
        var failure: Error?
        for _ in 0..<passes {
            readTimes.append(BenchTiming.seconds { do { _ = try readAll() } catch { failure = error } })
            readyTimes.append(BenchTiming.seconds { do { try ready() } catch { failure = error } })
            if let failure { throw failure }
        }
        let read = BenchTiming.median(readTimes), readyTime = BenchTiming.median(readyTimes)
        print("model: \(model), layers \(range.lowerBound)..\(range.upperBound) of \(count), \(names.count) tensors, \(String(format: "%.2f", Double(bytes) / 1e9)) GB; kernels: \(Kernels.active.isa.rawValue); passes: \(passes) (medians)")
        print(String(format: "read_s: %.3f (%.2f GB/s)", read, Double(bytes) / read / 1e9))
        print(String(format: "ready_s: %.3f", readyTime))
        print(String(format: "load_ratio: %.3f", readyTime / read))
    }

    /// Sum of the bytes as 64-bit words (touches every page; the tail bytes one by one).
    static func wordSum(_ b: UnsafeRawBufferPointer) -> UInt64 {
        guard let p = b.baseAddress else { return 0 }
        var a: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0, e: UInt64 = 0
        var i = 0
        while i &+ 32 <= b.count {
            a &+= p.loadUnaligned(fromByteOffset: i, as: UInt64.self); c &+= p.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
            d &+= p.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self); e &+= p.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self)
            i &+= 32
        }
        while i < b.count { a &+= UInt64(p.load(fromByteOffset: i, as: UInt8.self)); i &+= 1 }
        return a &+ c &+ d &+ e
    }
}
