import Testing
import StrataKernels

/// F32Matrix against a Double reference (|y − exact| ≤ 1e-5 · Σ|w·x|) and batch invariance.
@Suite struct F32LinearTests {
    @Test func matchesReferenceAtAwkwardSizes() {
        let pool = ThreadPool(threads: 2)
        for rows in awkwardSizes {
            for cols in awkwardSizes + [4096] {
                let w = randomF32(rows: rows, cols: cols, seed: UInt64(rows * 7 + cols))
                var rng = TestRandom(seed: 11)
                let x = rng.floats(cols)
                let y = forward(w, x, batch: 1, pool: pool)
                for r in 0..<rows {
                    var s = 0.0, a = 0.0
                    for c in 0..<cols { let p = Double(w.values[r * cols + c]) * Double(x[c]); s += p; a += abs(p) }
                    #expect(abs(Double(y[r]) - s) <= 1e-5 * a + 1e-30, "\(rows)x\(cols) row \(r)")
                }
            }
        }
    }

    @Test func batchRowsEqualSingleTokenBitForBit() {
        let rows = 37, cols = 133
        let w = randomF32(rows: rows, cols: cols, seed: 5)
        var rng = TestRandom(seed: 6)
        let tokens = (0..<256).map { _ in rng.floats(cols) }
        let pool = ThreadPool(threads: 2)
        let single = tokens.map { bits(forward(w, $0, batch: 1, pool: pool)) }
        for batch in [1, 2, 3, 7, 16, 17, 64, 255, 256] {
            let ids = (0..<batch).map { (batch * 11 + $0 * 3) % 256 }
            let y = forward(w, ids.flatMap { tokens[$0] }, batch: batch, pool: pool)
            for (b, id) in ids.enumerated() {
                #expect(bits(Array(y[(b * rows)..<((b + 1) * rows)])) == single[id], "batch \(batch) row \(b)")
            }
        }
    }
}
