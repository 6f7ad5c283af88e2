/// A linear layer's weight `W (rows, cols)`: `y = x W^T` for a batch of row vectors.
///
/// Every implementation is batch-invariant: row `b` of the result is bit-identical whatever
/// the batch size and whatever the other rows hold.
public protocol LinearWeight: Sendable {
    var rows: Int { get }
    var cols: Int { get }
    /// Bytes of weight memory read per forward pass.
    var byteCount: Int { get }
    /// x (batch, cols) @ W^T (cols, rows) -> y (batch, rows); row-major, no aliasing.
    func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool)
}

/// An f32 weight, the reference path (`--weights f32`).
public final class F32Matrix: LinearWeight, @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    /// (rows, cols) row-major.
    public let values: UnsafeMutablePointer<Float>
    public var byteCount: Int { rows * cols * 4 }

    /// Zero-filled storage.
    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        values = .allocate(capacity: rows * cols)
        values.initialize(repeating: 0, count: rows * cols)
    }
    deinit { values.deallocate() }

    /// x (batch, cols) @ W^T -> y (batch, rows). Per (token, row): one 8-lane fma chain over the
    /// whole row, then `laneSum` — the same operations for every batch size (batch-invariant).
    /// Each thread cuts its rows into 3 contiguous thirds and pass k takes row k of each (three
    /// long memory streams, as in the FP8 GEMV).
    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard batch > 0 else { return }
        pool.parallelFor(rows, granule: 3) { range in
            let acc = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 12)
            defer { acc.deallocate() }
            let q = range.count / 3, lo = range.lowerBound
            for k in 0..<q { self.rowTriple(lo &+ k, spread: q, x: x, batch: batch, y: y, acc: acc) }
            for r in (lo &+ 3 &* q)..<range.upperBound {
                for b in 0..<batch {
                    y[b &* self.rows &+ r] = laneSum(micro1x1(self.values + r &* self.cols, x + b &* self.cols, width: self.cols))
                }
            }
        }
    }

    /// Rows r, r+spread, r+2·spread for every token: W (3, cols) @ x (batch, cols)^T.
    @inline(__always)
    private func rowTriple(_ r: Int, spread: Int, x: UnsafePointer<Float>, batch: Int, y: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<SIMD8<Float>>) {
        let w = UnsafePointer(values + r &* cols)
        var b = 0
        while b < batch {
            let tokens = batch &- b >= 4 ? 4 : 1
            if tokens == 4 {
                micro3x4(w, wStride: spread &* cols, x + b &* cols, xStride: cols, width: cols, wTailReadable: false, into: acc)
            } else {
                micro3x1(w, wStride: spread &* cols, x + b &* cols, width: cols, wTailReadable: false, into: acc)
            }
            for t in 0..<tokens {
                for i in 0..<3 { y[(b &+ t) &* rows &+ r &+ i &* spread] = laneSum(acc[t &* 3 &+ i]) }
            }
            b &+= tokens
        }
    }
}

/// Scalar reference dot product: f32, one accumulator per lane of 8, fixed order.
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
        let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        acc.addProduct(va, vb)
        i &+= 8
    }
    var s = acc.sum()
    while i < n { s.addProduct(a[i], b[i]); i &+= 1 }
    return s
}
