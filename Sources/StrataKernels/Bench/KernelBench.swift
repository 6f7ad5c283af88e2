import Foundation

/// `strata bench kernels`: read bandwidth, FP8 GEMV bandwidth and FP8 GEMM throughput in one run.
///
/// The GEMV cycles over ≥ 1 GiB of FP8 weights in DeepSeek-67B shapes (8192×8192, 22016×8192,
/// 8192×22016), so nothing stays in cache; its GB/s divided by the read probe's GB/s is the figure
/// of merit (`gemv_fp8_bandwidth_ratio`, all threads; 1.0 = at the memory-bandwidth limit).
/// Every figure is the median of several passes; the machine should be otherwise quiet.
public enum KernelBench {
    /// Sizes and repetitions of one run.
    public struct Options: Sendable {
        /// Threads of the "all threads" figures (callers pass the core count).
        public var threads: Int
        /// Timed passes per figure (median reported).
        public var passes: Int = 7
        /// Bytes of the read-bandwidth buffer.
        public var readBytes: Int = 1 << 30
        /// Minimum bytes of FP8 weights the GEMV cycles through.
        public var gemvBytes: Int = 1 << 30
        /// Batch sizes of the GEMM figures.
        public var gemmBatches: [Int] = [16, 64, 256]
        /// Run only the GEMM figures (profiling aid; no ratio lines).
        public var gemmOnly = false
        /// Time with process CPU time instead of the wall clock (tuning aid; 1-thread figures only).
        public var cpuTime = false

        public init(threads: Int) { self.threads = threads }
    }

    /// Runs every benchmark and reports one line per figure through `report`; the last line is
    /// exactly `gemv_fp8_bandwidth_ratio: X`.
    public static func run(_ options: Options, report: (String) -> Void = { print($0) }) {
        BenchTiming.useCPUTime = options.cpuTime
        let one = ThreadPool(threads: 1)
        let all = ThreadPool(threads: max(options.threads, 1))
        report("kernel_variant: \(Kernels.active.isa.rawValue) (this CPU runs: \(Kernels.available().map(\.isa.rawValue).joined(separator: ", ")))")
        report("threads: 1 and \(all.threads); passes: \(options.passes) (medians)")
        if options.gemmOnly { return gemmReport(options, one: one, all: all, report: report) }

        let probe = ReadBandwidthProbe(bytes: options.readBytes)
        let set = GEMVWorkload(minimumBytes: options.gemvBytes)
        // Read and GEMV passes alternate, so both medians see the same machine conditions.
        let (read1, gemv1) = interleaved(passes: options.passes, probe: probe, set: set, pool: one)
        let (readN, gemvN) = interleaved(passes: options.passes, probe: probe, set: set, pool: all)
        report(String(format: "read_bandwidth_gbs: 1t %.2f  %dt %.2f  (%.2f GiB buffer)",
                      read1, all.threads, readN, Double(probe.bytes) / Double(1 << 30)))
        report(String(format: "gemv_fp8_gbs: 1t %.2f  %dt %.2f  (%d matrices, %.2f GiB)",
                      gemv1, all.threads, gemvN, set.matrices.count, Double(set.bytes) / Double(1 << 30)))

        gemmReport(options, one: one, all: all, report: report)
        report(String(format: "gemv_fp8_bandwidth_ratio_1t: %.3f", gemv1 / read1))
        report(String(format: "gemv_fp8_bandwidth_ratio: %.3f", gemvN / readN))
    }

    static func gemmReport(_ options: Options, one: ThreadPool, all: ThreadPool, report: (String) -> Void) {
        for batch in options.gemmBatches {
            let passes = max(3, options.passes / 2)
            let (g1, gN) = gemmGFLOPs(batch: batch, one: one, all: all, passes: passes) { $0.forward }
            var line = String(format: "gemm_fp8_gflops batch %d (8192x8192): 1t %.1f  %dt %.1f", batch, g1, all.threads, gN)
            if batch > 1 {
                // Both GEMM kernels side by side: the evidence for `streamingBatchLimit`.
                let (s1, sN) = gemmGFLOPs(batch: batch, one: one, all: all, passes: passes) { w in { w.forwardStreaming($0, batch: $1, into: $2, pool: $3) } }
                let (t1, tN) = gemmGFLOPs(batch: batch, one: one, all: all, passes: passes) { $0.forwardTiled }
                line += String(format: "  (streaming 1t %.1f %dt %.1f; tiled 1t %.1f %dt %.1f)", s1, all.threads, sN, t1, all.threads, tN)
            }
            report(line)
            if batch >= 4, batch <= FP8View.streamingBatchLimit {
                report(String(format: "streaming_3x4_vs_2x4 batch %d: %.3f (median time ratio 2×4 ÷ 3×4 over %d alternating pass pairs, %d threads)",
                              batch, tripleSpeedup(batch: batch, pool: all, pairs: max(15, options.passes * 3)), max(15, options.passes * 3), all.threads))
            }
        }
    }

    /// Time of the 2-row streaming passes over the 3-row ones on one 8192×8192 weight, passes
    /// alternating so both see the same machine; the median of the per-pair ratios (> 1: 3×4 is
    /// faster). Slow drifts of a shared machine cancel within a pair.
    static func tripleSpeedup(batch: Int, pool: ThreadPool, pairs: Int) -> Double {
        let f = GEMMFixture(batch: batch, seed: 0x3C4 ^ UInt64(batch))
        defer { withExtendedLifetime(f) {} }   // x and y are f's: keep it until the last pass
        let n = GEMMFixture.n, w = f.w, x = f.x, y = f.y
        func pass(_ pairsOnly: Bool) -> Double {
            BenchTiming.seconds { w.forwardStreaming(x, batch: batch, into: y, pool: pool, kernel: pairsOnly ? .pairs : .triples) }
        }
        _ = pass(true)
        let pairsOut = Array(UnsafeBufferPointer(start: y, count: batch * n))
        _ = pass(false)
        // The two kernels must agree bit for bit (both run the canonical reduction).
        precondition(pairsOut.withUnsafeBufferPointer { memcmp($0.baseAddress!, y, batch * n * 4) == 0 },
                     "3×4 and 2×4 streaming kernels disagree at batch \(batch)")
        return BenchTiming.median((0..<pairs).map { i in
            // Alternate which kernel goes first, so neither always runs on a warmer cache.
            if i % 2 == 0 { let a = pass(true); return a / pass(false) }
            let b = pass(false); return pass(true) / b
        })
    }

    static func gbs(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / seconds / 1e9 }

    /// Median GB/s of the read probe and of the GEMV workload, their passes alternating.
    static func interleaved(passes: Int, probe: ReadBandwidthProbe, set: GEMVWorkload, pool: ThreadPool) -> (Double, Double) {
        probe.pass(pool: pool)
        set.pass(pool: pool)
        var read: [Double] = [], gemv: [Double] = []
        for _ in 0..<max(passes, 1) {
            read.append(BenchTiming.seconds { probe.pass(pool: pool) })
            gemv.append(BenchTiming.seconds { set.pass(pool: pool) })
        }
        return (gbs(probe.bytes, BenchTiming.median(read)), gbs(set.bytes, BenchTiming.median(gemv)))
    }

    /// GFLOP/s (2·rows·cols·batch per forward) of one FP8 GEMM kernel on an 8192×8192 weight.
    static func gemmGFLOPs(
        batch: Int, one: ThreadPool, all: ThreadPool, passes: Int,
        kernel: (BlockScaledFP8Matrix) -> (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, ThreadPool) -> Void
    ) -> (Double, Double) {
        let f = GEMMFixture(batch: batch, seed: 0x9E37_79B9_7F4A_7C15 ^ UInt64(batch))
        defer { withExtendedLifetime(f) {} }   // x and y are f's: keep it until the last pass
        let n = GEMMFixture.n, w = f.w, x = f.x, y = f.y
        let flops = 2 * Double(n) * Double(n) * Double(batch)
        let run = kernel(w)
        let t1 = BenchTiming.medianSeconds(passes: passes) { run(x, batch, y, one) }
        let tN = BenchTiming.medianSeconds(passes: passes) { run(x, batch, y, all) }
        return (flops / t1 / 1e9, flops / tN / 1e9)
    }
}

/// An 8192×8192 FP8 weight of random codes, `batch` rows of random activations and room for
/// the result: the GEMM figures' workload.
final class GEMMFixture {
    static let n = 8192
    let w: BlockScaledFP8Matrix
    let x: UnsafeMutablePointer<Float>   // (batch, n)
    let y: UnsafeMutablePointer<Float>   // (batch, n)

    init(batch: Int, seed: UInt64) {
        let n = GEMMFixture.n
        var rng = BenchRandom(state: seed)
        w = BlockScaledFP8Matrix(rows: n, cols: n)
        rng.fillCodes(w.codes, count: n * n)
        x = .allocate(capacity: batch * n)
        y = .allocate(capacity: batch * n)
        rng.fillFloats(x, count: batch * n)
    }
    deinit { x.deallocate(); y.deallocate() }
}

/// FP8 weights in DeepSeek-67B shapes, repeated until they reach the requested size.
final class GEMVWorkload {
    static let shapes = [(8192, 8192), (22016, 8192), (8192, 22016)]
    let matrices: [BlockScaledFP8Matrix]
    let x: UnsafeMutablePointer<Float>
    let y: UnsafeMutablePointer<Float>

    init(minimumBytes: Int) {
        var rng = BenchRandom(state: 0x2545_F491_4F6C_DD1D)
        var list: [BlockScaledFP8Matrix] = []
        var total = 0
        while total < minimumBytes {
            for (rows, cols) in GEMVWorkload.shapes {
                let m = BlockScaledFP8Matrix(rows: rows, cols: cols)
                rng.fillCodes(m.codes, count: rows * cols)
                list.append(m)
                total += m.byteCount
            }
        }
        matrices = list
        x = .allocate(capacity: 22016)
        y = .allocate(capacity: 22016)
        rng.fillFloats(x, count: 22016)
    }
    deinit { x.deallocate(); y.deallocate() }

    var bytes: Int { matrices.reduce(0) { $0 + $1.byteCount } }

    /// One decode-like pass: every matrix once, batch 1.
    func pass(pool: ThreadPool) {
        for m in matrices { m.forward(x, batch: 1, into: y, pool: pool) }
    }
}
