import Foundation

/// `strata bench quantize`: how fast f32/bf16 weights become block-scaled FP8 at load (the scale
/// search of FP8ScaleSearch.swift plus the encode), against the scalar reference of the same rule
/// measured in the same process. Every checkpoint that is not already FP8 goes through this once
/// per load, so it sets how long a worker takes to come up.
public enum QuantizeBench {
    public struct Options: Sendable {
        public var rows = 4096, cols = 4096   // DeepSeek LLM 7B's attention projections
        public var threads: Int
        public var passes = 5
        /// 128 × 128 blocks the scalar reference quantizes per pass (it is slow).
        public var referenceBlocks = 4

        public init(threads: Int) { self.threads = threads }
    }

    public static func run(_ o: Options, report: (String) -> Void = { print($0) }) {
        // Roughly normal weights (sum of four uniforms), as trained matrices are.
        let count = o.rows * o.cols
        let w = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { w.deallocate() }
        var rng = BenchRandom(seed: 11)
        for i in 0..<count {
            var x: Float = 0
            for _ in 0..<4 { x += Float(rng.next() >> 40) * 0x1p-23 - 1 }
            w[i] = x * 0.02
        }
        let fill: (Int, Int, UnsafeMutablePointer<Float>) -> Void = { r0, n, out in
            out.update(from: w + r0 * o.cols, count: n * o.cols)
        }
        let pool = ThreadPool(threads: o.threads)
        // The reference: the scalar search, then the scalar encoder, block by block (row-major blocks).
        let blocks = min(o.referenceBlocks, (o.rows / 128) * (o.cols / 128))
        let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: blocks * 128 * 128)
        defer { codes.deallocate() }
        let reference = {
            for b in 0..<blocks {
                let p = w + (b / (o.cols / 128)) * 128 * o.cols + (b % (o.cols / 128)) * 128
                let s = BlockScaledFP8Matrix.referenceBlockScale(p, rows: 128, cols: 128, stride: o.cols)
                for r in 0..<128 {
                    for c in 0..<128 {
                        codes[b * 16384 + r * 128 + c] = E4M3.encodeReference(min(max(p[r * o.cols + c] / s, -E4M3.max), E4M3.max))
                    }
                }
            }
        }
        // The three alternate pass by pass, so a drifting machine weighs on all alike; the
        // speedup is the median of the per-pass ratios (weights per second, fast ÷ reference).
        reference()
        var one: [Double] = [], all: [Double] = [], ref: [Double] = [], speedup: [Double] = []
        for _ in 0..<o.passes {
            one.append(BenchTiming.seconds { _ = BlockScaledFP8Matrix(rows: o.rows, cols: o.cols, quantizing: fill) })
            ref.append(BenchTiming.seconds(reference))
            all.append(BenchTiming.seconds { _ = BlockScaledFP8Matrix(rows: o.rows, cols: o.cols, pool: pool, quantizing: fill) })
            speedup.append((ref.last! / Double(blocks * 16384)) / (one.last! / Double(count)))
        }
        // Same rule, same result: the fast path's codes and scales for those blocks.
        let check = BlockScaledFP8Matrix(rows: o.rows, cols: o.cols, pool: pool, quantizing: fill)
        let agree = (0..<blocks).allSatisfy { b in
            let r0 = (b / (o.cols / 128)) * 128, c0 = (b % (o.cols / 128)) * 128
            return (0..<128).allSatisfy { r in
                (0..<128).allSatisfy { c in check.codes[(r0 + r) * o.cols + c0 + c] == codes[b * 16384 + r * 128 + c] }
            }
        }
        let rate = { (weights: Int, seconds: [Double]) in Double(weights) / BenchTiming.median(seconds) / 1e6 }
        let fastT = rate(count, all)
        report("quantize \(o.rows)×\(o.cols) f32 → FP8 (128×128 blocks, \(BlockScaledFP8Matrix.scaleSearchSteps + 1)-candidate scale search), "
               + "median of \(o.passes) alternating passes")
        report(String(format: "fast path, 1 thread: %.1f M weights/s", rate(count, one)))
        report(String(format: "fast path, %d threads: %.1f M weights/s (DeepSeek LLM 7B's 6.1 G linear weights: %.0f s)",
                      pool.threads, fastT, 6.07e3 / fastT))
        report(String(format: "scalar reference, 1 thread: %.2f M weights/s (%d blocks; its codes ", rate(blocks * 16384, ref), blocks)
               + (agree ? "equal the fast path's)" : "DIFFER from the fast path's: a bug)"))
        report(String(format: "quantize_speedup_vs_reference: %.2f", BenchTiming.median(speedup)))
    }
}
