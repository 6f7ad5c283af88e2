/// An f16 weight: the default store for the token embedding and output head, which stay in
/// higher precision than the FP8 linears (their errors land straight on the logits).
///
/// f16 → f32 is exact (hardware vcvtph2ps), so the result is the f32 dot product of the f16
/// values. Batch-invariant: every (token, row) output is one fixed 8-lane fma chain over the row
/// followed by the same horizontal sum, whatever the batch size.
public final class F16Matrix: LinearWeight, @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    /// (rows, cols) row-major f16.
    public let values: UnsafeMutablePointer<Float16>
    public var byteCount: Int { rows * cols * 2 }
    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        values = .allocate(capacity: rows * cols)
        values.initialize(repeating: 0, count: rows * cols)
    }
    deinit { values.deallocate() }

    /// Fills rows from f32 values, rounding to nearest even. `fillRows(start, count, out)` writes
    /// rows [start, start+count) as f32 into `out`.
    public convenience init(rows: Int, cols: Int, converting fillRows: (Int, Int, UnsafeMutablePointer<Float>) throws -> Void) rethrows {
        self.init(rows: rows, cols: cols)
        let chunk = max(1, min(rows, (1 << 20) / max(cols, 1)))
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: chunk * cols)
        defer { buf.deallocate() }
        var r = 0
        while r < rows {
            let n = min(chunk, rows - r)
            try fillRows(r, n, buf)
            Kernels.active.f16FromF32(buf, values + r * cols, n * cols)
            r += n
        }
    }

    /// Writes row `r` as f32 into `out` (cols,).
    public func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let src = values + r * cols
        for i in 0..<cols { out[i] = Float(src[i]) }
    }

    /// x (batch, cols) @ W^T (cols, rows) -> y (batch, rows).
    ///
    /// Batch 1 (decode) streams 4 rows against x (`gemv`); larger batches stream each row once
    /// against 4 tokens at a time (`dot1x4`: the row's 8-value pieces are converted in registers and
    /// used 4 times; the tokens' x stay in L1). f16 → f32 is exact and every path runs
    /// the kernels' `rowDot` operations in its order, so the results are bit-identical.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard batch > 0 else { return }
        let view = self.view, kernels = pool.kernels
        if batch == 1 {
            pool.parallelFor(rows, granule: 4) { range in kernels.f16Gemv(view, range, x, y) }
            return
        }
        pool.parallelFor(rows, granule: 4) { range in kernels.f16Rows(view, range, x, batch, y) }
    }

    /// The kernels' view of the values.
    public var view: F16View { F16View(values: values, rows: rows, cols: cols) }
}

