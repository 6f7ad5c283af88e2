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
    /// Rows converted to f32 together and reused for every token of a batch.
    static let tileRows = 4

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
            let dst = values + r * cols
            for i in 0..<(n * cols) { dst[i] = Float16(buf[i]) }
            r += n
        }
    }

    /// Writes row `r` as f32 into `out` (cols,).
    public func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let src = values + r * cols
        for i in 0..<cols { out[i] = Float(src[i]) }
    }

    /// x (batch, cols) @ W^T (cols, rows) -> y (batch, rows).
    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard batch > 0 else { return }
        pool.parallelFor(rows, granule: Self.tileRows) { range in
            let tile = UnsafeMutablePointer<Float>.allocate(capacity: Self.tileRows * self.cols)
            defer { tile.deallocate() }
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let n = min(Self.tileRows, range.upperBound - r0)
                for i in 0..<n { self.row(r0 + i, into: tile + i * self.cols) }
                for b in 0..<batch {
                    let xb = x + b * self.cols
                    for i in 0..<n { y[b * self.rows + r0 + i] = f16RowDot(tile + i * self.cols, xb, self.cols) }
                }
                r0 += n
            }
        }
    }
}

/// Σ a[i]·b[i] in one fixed order: an 8-lane fma chain, a fixed lane tree, then the tail.
@inline(__always)
func f16RowDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    @inline(__always) func load(_ p: UnsafePointer<Float>, _ k: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self)
    }
    while i &+ 16 <= n {
        acc0.addProduct(load(a, i), load(b, i))
        let j = i &+ 8
        acc1.addProduct(load(a, j), load(b, j))
        i &+= 16
    }
    while i &+ 8 <= n {
        acc0.addProduct(load(a, i), load(b, i))
        i &+= 8
    }
    let v = acc0 + acc1
    let h = v.lowHalf + v.highHalf
    let q = h.lowHalf + h.highHalf
    var s = q[0] + q[1]
    while i < n { s.addProduct(a[i], b[i]); i &+= 1 }
    return s
}
