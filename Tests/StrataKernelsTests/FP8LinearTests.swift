import Testing
import StrataKernels

/// FP8 GEMV/GEMM against the scalar reference and the exact (Double) value of the dequantized
/// product. Tolerance: |y − exact| ≤ 2e-5 · Σ|w·x| (f32 accumulation over ≤ 11008 terms).
@Suite struct FP8LinearTests {
    /// Exact-ish Double dot of dequantized row r with x, and Σ|w·x| for the tolerance.
    func exactRow(_ w: BlockScaledFP8Matrix, _ r: Int, _ x: [Float]) -> (Double, Double) {
        var row = [Float](repeating: 0, count: w.cols)
        row.withUnsafeMutableBufferPointer { w.dequantizeRows(r, count: 1, into: $0.baseAddress!) }
        var s = 0.0, a = 0.0
        for c in 0..<w.cols { s += Double(row[c]) * Double(x[c]); a += abs(Double(row[c]) * Double(x[c])) }
        return (s, a)
    }

    func checkAgainstReference(rows: Int, cols: Int, pool: ThreadPool) {
        let w = randomFP8(rows: rows, cols: cols, seed: UInt64(rows * 1000 + cols))
        var rng = TestRandom(seed: 7)
        let x = rng.floats(cols)
        let y = forward(w, x, batch: 1, pool: pool)
        for r in 0..<rows {
            let (exact, magnitude) = exactRow(w, r, x)
            let tol = 2e-5 * magnitude + 1e-30
            let ref = x.withUnsafeBufferPointer { w.referenceRowDot(r, $0.baseAddress!) }
            #expect(abs(Double(y[r]) - exact) <= tol, "fast \(rows)x\(cols) row \(r): \(y[r]) vs \(exact)")
            #expect(abs(Double(ref) - exact) <= tol, "reference \(rows)x\(cols) row \(r)")
        }
    }

    @Test func gemvMatchesReferenceAtAwkwardSizes() {
        let pool = ThreadPool(threads: 2)
        for rows in awkwardSizes { for cols in awkwardSizes { checkAgainstReference(rows: rows, cols: cols, pool: pool) } }
    }

    @Test func gemvMatchesReferenceOnRealRows() {
        let pool = ThreadPool(threads: 2)
        checkAgainstReference(rows: 9, cols: 4096, pool: pool)
        checkAgainstReference(rows: 5, cols: 11008, pool: pool)
        checkAgainstReference(rows: 130, cols: 200, pool: pool)
    }

    /// Row b of forward(X, batch: B) == forward(x_b, batch: 1) bit for bit, whatever the neighbours.
    @Test(arguments: [(67, 300), (129, 129), (8, 1024), (33, 31)])
    func gemmRowsEqualGEMVBitForBit(rows: Int, cols: Int) {
        let w = randomFP8(rows: rows, cols: cols, seed: 99)
        var rng = TestRandom(seed: UInt64(rows + cols))
        let tokens = (0..<256).map { _ in rng.floats(cols) }
        let pool = ThreadPool(threads: 2)
        let single = tokens.map { bits(forward(w, $0, batch: 1, pool: pool)) }
        for batch in [1, 2, 3, 4, 5, 7, 8, 12, 16, 17, 33, 48, 49, 64, 255, 256] {  // ≤ 48 streaming (3×4 from 12), above tiled
            let offset = batch * 37 % 256  // a different set of neighbours for every batch size
            let ids = (0..<batch).map { (offset + $0 * 5) % 256 }
            let y = forward(w, ids.flatMap { tokens[$0] }, batch: batch, pool: pool)
            for (b, id) in ids.enumerated() {
                #expect(bits(Array(y[(b * rows)..<((b + 1) * rows)])) == single[id], "batch \(batch) row \(b)")
            }
        }
    }

    /// Activations from 2^-70 to 2^46 in magnitude: GEMM rows still equal the GEMV bit for bit.
    @Test func batchInvarianceOverAWideActivationRange() {
        let rows = 19, cols = 260
        let w = randomFP8(rows: rows, cols: cols, seed: 8)
        var rng = TestRandom(seed: 9)
        let tokens = (0..<30).map { t in rng.floats(cols).map { $0 * Float(sign: .plus, exponent: 4 * t - 70, significand: 1) } }
        let pool = ThreadPool(threads: 2)
        let single = tokens.map { bits(forward(w, $0, batch: 1, pool: pool)) }
        // All 30 at once (tiled GEMM), then groups of 8 (streaming GEMM).
        for group in [Array(0..<30)] + stride(from: 0, to: 30, by: 8).map({ Array($0..<min(30, $0 + 8)) }) {
            let y = forward(w, group.flatMap { tokens[$0] }, batch: group.count, pool: pool)
            for (b, id) in group.enumerated() {
                #expect(bits(Array(y[(b * rows)..<((b + 1) * rows)])) == single[id], "batch \(group.count), token \(id)")
            }
        }
    }

    @Test func resultsDoNotDependOnThreadCount() {
        let w = randomFP8(rows: 203, cols: 515, seed: 3)
        var rng = TestRandom(seed: 4)
        let x = rng.floats(515 * 5)
        for batch in [1, 5] {
            let one = forward(w, x, batch: batch, pool: ThreadPool(threads: 1))
            #expect(bits(forward(w, x, batch: batch, pool: ThreadPool(threads: 3))) == bits(one))
        }
    }

    /// W (1, 256) holding every finite code, scale 1; X = identity (256, 256): y[b] = decode(code b)
    /// exactly, through the GEMV's register conversion (batch 1), the streaming GEMM (batch 8) and the
    /// tiled GEMM's tile (batch 256).
    @Test func everyCodeIsExactThroughGEMVAndGEMM() {
        let w = BlockScaledFP8Matrix(rows: 1, cols: 256)
        for c in 0..<256 { w.codes[c] = c & 0x7F == 0x7F ? 0 : UInt8(c) }
        var identity = [Float](repeating: 0, count: 256 * 256)
        for b in 0..<256 { identity[b * 256 + b] = 1 }
        let pool = ThreadPool(threads: 2)
        let batched = forward(w, identity, batch: 256, pool: pool)
        for b in 0..<256 {
            let expected = Float(e4m3FromBitFields(w.codes[b]))
            let single = forward(w, Array(identity[(b * 256)..<((b + 1) * 256)]), batch: 1, pool: pool)
            // Batch 8 takes the streaming GEMM (codes decoded in registers, like the GEMV).
            let group = b / 8 * 8
            let eight = forward(w, Array(identity[(group * 256)..<((group + 8) * 256)]), batch: 8, pool: pool)
            #expect(single[0] == expected, "GEMV, code \(w.codes[b])")
            #expect(eight[b - group] == expected, "streaming GEMM, code \(w.codes[b])")
            #expect(batched[b] == expected, "tiled GEMM, code \(w.codes[b])")
        }
    }

    @Test func nanCodesAreFound() {
        let w = BlockScaledFP8Matrix(rows: 3, cols: 5)
        #expect(w.firstNaNCode() == nil)
        w.codes[7] = 0xFF
        #expect(w.firstNaNCode() == 7)
    }
}
