import StrataKernelViews

/// The f32 linear (the `--weights f32` reference path).
extension F32View {
    /// x (batch, cols) @ W^T -> y (batch, rows). Per (token, row): one 8-lane fma chain over the
    /// whole row, then `laneSum` — the same operations for every batch size (batch-invariant).
    /// Each thread cuts its rows into 3 contiguous thirds and pass k takes row k of each (three
    /// long memory streams, as in the FP8 GEMV).
    func rows(_ range: Range<Int>, x: UnsafePointer<Float>, batch: Int, y: UnsafeMutablePointer<Float>) {
        let acc = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 12)
        defer { acc.deallocate() }
        let q = range.count / 3, lo = range.lowerBound
        for k in 0..<q { rowTriple(lo &+ k, spread: q, x: x, batch: batch, y: y, acc: acc) }
        for r in (lo &+ 3 &* q)..<range.upperBound {
            for b in 0..<batch {
                y[b &* rows &+ r] = laneSum(micro1x1(values + r &* cols, x + b &* cols, width: cols))
            }
        }
    }

    /// Rows r, r+spread, r+2·spread for every token: W (3, cols) @ x (batch, cols)^T.
    @inline(__always)
    private func rowTriple(_ r: Int, spread: Int, x: UnsafePointer<Float>, batch: Int, y: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<SIMD8<Float>>) {
        let w = values + r &* cols
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
