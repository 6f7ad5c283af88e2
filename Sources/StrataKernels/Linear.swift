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
    /// whole row, then the fixed lane tree — the same operations for every batch size
    /// (batch-invariant; the kernels' `F32View.rows`).
    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard batch > 0 else { return }
        let view = F32View(values: values, rows: rows, cols: cols), kernels = pool.kernels
        pool.parallelFor(rows, granule: 3) { range in kernels.f32Rows(view, range, x, batch, y) }
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
