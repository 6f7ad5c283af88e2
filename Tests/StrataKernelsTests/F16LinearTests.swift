import Testing
import StrataKernels

/// F16Matrix (embedding and output head) against a Double reference, and batch invariance: the
/// batch-1 path (4 rows per pass) equals the batch path (4 tokens per row) bit for bit.
@Suite struct F16LinearTests {
    static func randomF16(rows: Int, cols: Int, seed: UInt64) -> F16Matrix {
        var rng = TestRandom(seed: seed)
        return F16Matrix(rows: rows, cols: cols) { _, n, out in
            for i in 0..<(n * cols) { out[i] = rng.float() }
        }
    }

    @Test func matchesReferenceAtAwkwardSizes() {
        let pool = ThreadPool(threads: 2)
        for rows in awkwardSizes + [9] {
            for cols in awkwardSizes + [576] {
                let w = Self.randomF16(rows: rows, cols: cols, seed: UInt64(rows * 7 + cols))
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

    @Test(arguments: [1, 3])
    func batchRowsEqualSingleTokenBitForBit(threads: Int) {
        let pool = ThreadPool(threads: threads)
        for (rows, cols) in [(37, 133), (61, 576), (5, 8), (9, 24)] {
            let w = Self.randomF16(rows: rows, cols: cols, seed: 5)
            var rng = TestRandom(seed: 6)
            let tokens = (0..<32).map { _ in rng.floats(cols) }
            let single = tokens.map { bits(forward(w, $0, batch: 1, pool: pool)) }
            for batch in [2, 3, 4, 7, 8, 16, 17] {
                let ids = (0..<batch).map { (batch * 11 + $0 * 3) % 32 }
                let y = forward(w, ids.flatMap { tokens[$0] }, batch: batch, pool: pool)
                for (b, id) in ids.enumerated() {
                    #expect(bits(Array(y[(b * rows)..<((b + 1) * rows)])) == single[id], "\(rows)x\(cols) batch \(batch) row \(b)")
                }
            }
        }
    }
}
