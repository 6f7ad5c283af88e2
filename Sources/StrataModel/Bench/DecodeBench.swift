import Foundation
import StrataKernels

/// `strata bench decode`: one-token decode steps through the real `LayerStack` on synthetic FP8
/// layers in a real model's shapes, against the bound set by memory bandwidth.
///
/// A decode step reads every weight once, so the fastest possible step takes
/// `weight bytes ÷ read bandwidth`; the figure of merit is that time over the measured median step
/// (`decode_bandwidth_ratio`, 1.0 = at the limit). The read probe is the one of `bench kernels`,
/// with the same threads, its passes alternating with the decode steps so both medians see the same
/// machine. The KV cache grows from empty, so attention reads a few KiB: weights dominate.
public enum DecodeBench {
    /// What to run.
    public struct Options: Sendable {
        public var shape: SyntheticShape
        /// Decoder layers held (layers 0..<layers of the model).
        public var layers: Int
        public var threads: Int
        /// Timed decode steps (median reported), after one untimed warm-up step.
        public var tokens: Int = 16
        /// Bytes of the read-bandwidth buffer.
        public var readBytes: Int = 1 << 30

        public init(shape: SyntheticShape, layers: Int, threads: Int) {
            self.shape = shape; self.layers = layers; self.threads = threads
        }

        /// Default layer count: as many as fit in 6 GiB of weights (7B: all 30, 67B: 9), so the run
        /// with its 1 GiB read buffer stays under ≈ 8 GiB resident.
        public static func defaultLayers(_ shape: SyntheticShape) -> Int { shape.layers(fittingIn: 6 << 30) }

        /// Throws naming the option when a value is out of range.
        public func validate() throws {
            let n = shape.config.layerCount
            guard (1...n).contains(layers) else { throw DecodeBenchError.invalid(option: "layers", value: layers, reason: "must be in 1...\(n) for \(shape.rawValue)") }
            guard threads >= 1 else { throw DecodeBenchError.invalid(option: "threads", value: threads, reason: "must be at least 1") }
            guard tokens >= 1 else { throw DecodeBenchError.invalid(option: "tokens", value: tokens, reason: "must be at least 1") }
            guard readBytes >= 1 << 20 else { throw DecodeBenchError.invalid(option: "readBytes", value: readBytes, reason: "must be at least 1 MiB") }
        }
    }

    /// Runs the benchmark and reports one line per figure; the last line is exactly
    /// `decode_bandwidth_ratio: X`.
    public static func run(_ o: Options, report: (String) -> Void = { print($0) }) throws {
        try o.validate()
        let c = o.shape.config
        let pool = ThreadPool(threads: o.threads)
        report("shape: \(o.shape.rawValue) (hidden \(c.hiddenSize), ffn \(c.intermediateSize), heads \(c.heads)/\(c.kvHeads)), "
            + "layers 0..<\(o.layers) of \(c.layerCount), threads \(o.threads), FP8 E4M3 128×128 blocks")
        var stack: LayerStack?
        let build = BenchTiming.seconds { stack = SyntheticWeights.stack(0..<o.layers, config: c, pool: pool) }
        let layers = stack!
        let gib = Double(layers.byteCount) / Double(1 << 30)
        report(fmt("weights: %.3f GiB (%.1f MiB per layer), generated in %.2f s", gib, gib * 1024 / Double(o.layers), build))

        let probe = ReadBandwidthProbe(bytes: o.readBytes)
        let (step, read, finite) = measure(layers, probe: probe, tokens: o.tokens, pool: pool)
        guard finite else { throw DecodeBenchError.nonFinite }
        let readGBs = Double(probe.bytes) / read / 1e9
        let boundStep = Double(layers.byteCount) / (readGBs * 1e9)
        report(fmt("read_bandwidth_gbs: %.2f (%d threads, %.2f GiB buffer)", readGBs, o.threads, Double(probe.bytes) / Double(1 << 30)))
        report(fmt("decode: %.2f ms/token for %d layers (%.2f tok/s), %.1f GB/s of weights; median of %d steps",
                   step * 1e3, o.layers, 1 / step, Double(layers.byteCount) / step / 1e9, o.tokens))
        report(fmt("bound: %.2f ms/token (%.2f tok/s) at the read bandwidth", boundStep * 1e3, 1 / boundStep))
        report(fmt("all %d layers (scaled): %.2f tok/s, bound %.2f tok/s", c.layerCount,
                   1 / (step * Double(c.layerCount) / Double(o.layers)), 1 / (boundStep * Double(c.layerCount) / Double(o.layers))))
        report(fmt("decode_bandwidth_ratio: %.3f", boundStep / step))
    }

    /// Median seconds of a one-token decode step and of a read-probe pass, alternating; and whether
    /// every hidden state stayed finite.
    static func measure(_ stack: LayerStack, probe: ReadBandwidthProbe, tokens: Int, pool: ThreadPool) -> (Double, Double, Bool) {
        let h = stack.config.hiddenSize
        let x = UnsafeMutablePointer<Float>.allocate(capacity: h)
        defer { x.deallocate() }
        let cache = stack.makeCache()
        var finite = true
        var rng = BenchRandom(seed: 0x5EED)
        func decodeStep() {
            rng.fillFloats(x, count: h)  // a fresh "embedding" each step
            stack.forward(x, entries: [BatchEntry(cache: cache, count: 1)], pool: pool)
            for i in 0..<h where !x[i].isFinite { finite = false }
        }
        decodeStep()
        probe.pass(pool: pool)
        var steps: [Double] = [], reads: [Double] = []
        for _ in 0..<tokens {
            steps.append(BenchTiming.seconds(decodeStep))
            reads.append(BenchTiming.seconds { probe.pass(pool: pool) })
        }
        return (BenchTiming.median(steps), BenchTiming.median(reads), finite)
    }

    static func fmt(_ f: String, _ args: CVarArg...) -> String { String(format: f, arguments: args) }
}

/// Errors of `strata bench decode`.
public enum DecodeBenchError: Error, CustomStringConvertible, Equatable {
    /// An option is out of range.
    case invalid(option: String, value: Int, reason: String)
    /// A hidden state became NaN or infinite (the synthetic weights are meant to prevent it).
    case nonFinite

    public var description: String {
        switch self {
        case let .invalid(option, value, reason): return "bench decode: \(option) = \(value) \(reason)"
        case .nonFinite: return "bench decode: a hidden state became non-finite"
        }
    }
}
