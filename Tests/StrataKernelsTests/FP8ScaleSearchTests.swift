import Testing
import StrataKernels

/// The per-block scale search of the FP8 quantizer (FP8ScaleSearch.swift): the fast path against
/// its scalar reference, bit for bit, and the properties the rule promises.
@Suite struct FP8ScaleSearchTests {
    /// A block (rows, cols) given row by row.
    struct Block: CustomStringConvertible {
        let name: String, rows: Int, cols: Int, values: [Float]
        var description: String { "\(name) \(rows)×\(cols)" }
    }

    static func random(_ name: String, _ rows: Int, _ cols: Int, seed: UInt64, _ f: (Float, Int) -> Float = { x, _ in x }) -> Block {
        var rng = TestRandom(seed: seed)
        return Block(name: name, rows: rows, cols: cols, values: (0..<(rows * cols)).map { f(rng.float(), $0) })
    }

    /// Random blocks at awkward sizes, and adversarial ones.
    static let blocks: [Block] = {
        var out: [Block] = []
        for (i, (r, c)) in [(128, 128), (1, 1), (1, 2), (2, 2), (31, 31), (32, 32), (33, 33), (7, 128), (128, 5), (100, 67)].enumerated() {
            out.append(random("uniform", r, c, seed: 100 + UInt64(i)))
        }
        // Heavy-tailed (cubed uniform): many values in E4M3's subnormal range after scaling.
        out.append(random("cubed", 128, 128, seed: 7) { x, _ in x * x * x })
        out.append(Block(name: "all zero", rows: 128, cols: 128, values: [Float](repeating: 0, count: 128 * 128)))
        out.append(Block(name: "negative zero", rows: 3, cols: 9, values: [Float](repeating: -0.0, count: 27)))
        out.append(random("zeros of both signs and one value", 4, 20, seed: 8) { x, i in i == 37 ? 0.75 : (x < 0 ? -0.0 : 0.0) })
        out.append(random("single huge outlier", 128, 128, seed: 9) { x, i in i == 5000 ? 3.0e4 : x * 1e-3 })
        out.append(random("outlier at f32 max", 16, 16, seed: 10) { x, i in i == 3 ? -Float.greatestFiniteMagnitude : x })
        out.append(random("f32 subnormals", 64, 64, seed: 11) { x, _ in x * 0x1p-127 })
        out.append(random("E4M3 subnormal range", 128, 128, seed: 12) { x, i in i == 0 ? 448 : x * 0x1p-6 })
        out.append(random("one value per row", 128, 8, seed: 13) { x, i in i % 8 == 0 ? x : 0 })
        out.append(random("constant", 9, 9, seed: 14) { _, _ in 0.3 })
        out.append(random("exact codes", 16, 16, seed: 15) { x, _ in E4M3.table[Int(E4M3.encode(x * 448))] })
        return out
    }()

    static func fast(_ b: Block) -> Float {
        b.values.withUnsafeBufferPointer { BlockScaledFP8Matrix.blockScale($0.baseAddress!, rows: b.rows, cols: b.cols, stride: b.cols) }
    }

    static func reference(_ b: Block) -> Float {
        b.values.withUnsafeBufferPointer { BlockScaledFP8Matrix.referenceBlockScale($0.baseAddress!, rows: b.rows, cols: b.cols, stride: b.cols) }
    }

    /// Σ (decode(code)·s − x)² in f64, summed plainly.
    static func squaredError(_ b: Block, scale s: Float) -> Double {
        b.values.reduce(0) { acc, x in
            let v = min(max(x / s, -E4M3.max), E4M3.max)
            let d = Double(E4M3.decode(E4M3.encodeReference(v)) * s) - Double(x)
            return acc + d * d
        }
    }

    @Test(arguments: blocks)
    func fastSearchEqualsReferenceBitForBit(_ b: Block) {
        #expect(Self.fast(b).bitPattern == Self.reference(b).bitPattern, "fast \(Self.fast(b)), reference \(Self.reference(b))")
    }

    /// The rule: one of amax/448 · (1 + k/128), k = 0…16 (1 for an all-zero block); nothing
    /// clipped; no more error than amax/448 itself.
    @Test(arguments: blocks)
    func scaleIsANeverClippingCandidateNoWorseThanAmax(_ b: Block) {
        let s = Self.fast(b)
        let amax = b.values.reduce(Float(0)) { max($0, abs($1)) }
        if amax == 0 { #expect(s == 1); return }
        let base = amax / E4M3.max
        let candidates = (0...BlockScaledFP8Matrix.scaleSearchSteps).map { base * (1 + Float($0) / 128) }
        #expect(candidates.contains(s), "scale \(s) is not a candidate of base \(base)")
        #expect(s >= base)
        if base.isNormal {
            #expect(amax / s <= E4M3.max, "amax \(amax) clipped at scale \(s)")
        }
        let e = Self.squaredError(b, scale: s), e0 = Self.squaredError(b, scale: base)
        if e0.isFinite { #expect(e <= e0 * (1 + 1e-12), "error \(e) above amax/448's \(e0)") }
    }

    /// Many random blocks with random gains, tails and sizes.
    @Test func fastSearchEqualsReferenceOnManyRandomBlocks() {
        var rng = TestRandom(seed: 42)
        for i in 0..<300 {
            let rows = 1 + Int(rng.next() % 128), cols = 1 + Int(rng.next() % 128)
            let gain = Float(sign: .plus, exponent: Int(rng.next() % 60) - 40, significand: 1)
            let power = 1 + Int(rng.next() % 4)
            let values = (0..<(rows * cols)).map { _ -> Float in
                let x = rng.float()
                return gain * (power == 1 ? x : power == 2 ? x * abs(x) : power == 3 ? x * x * x : x * x * x * x * x)
            }
            let b = Block(name: "random \(i)", rows: rows, cols: cols, values: values)
            #expect(Self.fast(b).bitPattern == Self.reference(b).bitPattern, "\(b)")
        }
    }

    /// Whole matrices at sizes that are not multiples of 128, serial and on the pool: every block's
    /// scale is the reference search's, every code the reference encoder's at that scale.
    @Test(arguments: [(1, 1), (33, 31), (129, 257), (300, 200)])
    func quantizerUsesTheSearchedScales(rows: Int, cols: Int) {
        var rng = TestRandom(seed: UInt64(rows * 1000 + cols))
        let w = (0..<(rows * cols)).map { i -> Float in
            let x = rng.float()
            return i % 97 == 0 ? x * 20 : (i % 89 == 0 ? -0.0 : x * x * x)
        }
        let fill: (Int, Int, UnsafeMutablePointer<Float>) -> Void = { r0, n, out in
            for i in 0..<(n * cols) { out[i] = w[r0 * cols + i] }
        }
        let serial = BlockScaledFP8Matrix(rows: rows, cols: cols, quantizing: fill)
        let pooled = BlockScaledFP8Matrix(rows: rows, cols: cols, pool: ThreadPool(threads: 3), quantizing: fill)
        for m in [serial, pooled] {
            for rb in 0..<m.scaleRows {
                for cb in 0..<m.scaleColumns {
                    let r0 = rb * 128, c0 = cb * 128, n = min(128, rows - r0), k = min(128, cols - c0)
                    let s = w.withUnsafeBufferPointer {
                        BlockScaledFP8Matrix.referenceBlockScale($0.baseAddress! + r0 * cols + c0, rows: n, cols: k, stride: cols)
                    }
                    #expect(m.scales[rb * m.scaleColumns + cb].bitPattern == s.bitPattern, "block (\(rb), \(cb))")
                    for r in r0..<(r0 + n) {
                        for c in c0..<(c0 + k) {
                            let code = E4M3.encodeReference(min(max(w[r * cols + c] / s, -E4M3.max), E4M3.max))
                            if m.codes[r * cols + c] != code {
                                Issue.record("code (\(r), \(c)) = \(m.codes[r * cols + c]), reference \(code)")
                                return
                            }
                        }
                    }
                }
            }
        }
        #expect(serial.firstNaNCode() == nil)
    }

    /// A NaN weight becomes a NaN code (which loaders look for and reject), an infinite one makes
    /// its block's scale infinite; the vector encoder agrees with the reference on both blocks.
    @Test func nanAndInfinityReachTheCodesAsTheReferenceEncodes() {
        let rows = 16, cols = 200
        var rng = TestRandom(seed: 5)
        var w = (0..<(rows * cols)).map { _ in rng.float() }
        w[3 * cols + 37] = .nan          // block (0, 0)
        w[9 * cols + 150] = -.infinity   // block (0, 1)
        let m = BlockScaledFP8Matrix(rows: rows, cols: cols) { r0, n, out in
            for i in 0..<(n * cols) { out[i] = w[r0 * cols + i] }
        }
        #expect(m.firstNaNCode() == 3 * cols + 37)
        #expect(m.scales[1] == .infinity)
        for r in 0..<rows {
            for c in 0..<cols {
                let s = m.scales[c / 128]
                let code = E4M3.encodeReference(min(max(w[r * cols + c] / s, -E4M3.max), E4M3.max))
                if m.codes[r * cols + c] != code {
                    Issue.record("code (\(r), \(c)) = \(m.codes[r * cols + c]), reference \(code)")
                    return
                }
            }
        }
    }

    /// The fast search forms each error term d = q − x in f32 (q = decode(code) · s), where the
    /// reference subtracts in f64; FP8ScaleSearch.swift argues the f32 difference is exact. Checked
    /// here where it is tightest: x/s next to every rounding boundary of the subnormal codes
    /// ((k + ½)·2⁻⁹, a few ulps either side) and at random, over scales of many binades.
    @Test func errorTermFormedInF32IsExact() {
        var rng = TestRandom(seed: 77)
        for i in 0..<400_000 {
            let s = Float(sign: .plus, exponent: Int(rng.next() % 60) - 40, significand: 1 + abs(rng.float()))
            var v: Float
            if i % 2 == 0 {
                v = (Float(rng.next() % 9) + 0.5) * 0x1p-9
                for _ in 0..<(rng.next() % 4) { v = rng.next() & 1 == 0 ? v.nextUp : v.nextDown }
            } else {
                v = rng.float() * E4M3.max
            }
            var x = (rng.next() & 1 == 0 ? v : -v) * s
            for _ in 0..<(rng.next() % 3) { x = rng.next() & 1 == 0 ? x.nextUp : x.nextDown }
            let q = E4M3.table[Int(E4M3.encode(min(max(x / s, -E4M3.max), E4M3.max)))] * s
            guard q.isFinite else { continue }
            if Double(q - x) != Double(q) - Double(x) {
                Issue.record("x \(x), s \(s): f32 q − x = \(q - x), f64 \(Double(q) - Double(x))")
                return
            }
        }
    }
}
