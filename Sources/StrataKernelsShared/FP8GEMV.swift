import StrataKernelViews

/// FP8 GEMV for decode: W (rows, cols) E4M3 @ x (cols,) -> y (rows,).
///
/// Bandwidth-bound: every weight byte is read once per token. Each pass streams 4 rows against one
/// load of x, building f32 weights in registers with 3 integer ops per 8 codes (`e4m3Fake32`);
/// the reduction order is the canonical one of Lanes.swift, shared with the GEMM.
extension FP8View {
    /// y[r] for r in `range`; x (cols,) pre-scaled (x·2^64), y (rows,).
    ///
    /// The range is cut into 4 contiguous quarters and pass k takes row k of each, so the four
    /// row streams each walk one long contiguous stretch of memory (the hardware prefetcher sees 4
    /// steady streams instead of 4 new ones per pass).
    func gemv(rows range: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let q = range.count / 4, lo = range.lowerBound
        for k in 0..<q {
            gemv4(lo &+ k, lo &+ q &+ k, lo &+ 2 &* q &+ k, lo &+ 3 &* q &+ k, x, y)
        }
        for r in (lo &+ 4 &* q)..<range.upperBound { y[r] = gemv1(r, x) }
    }

    /// y[r0], y[r1], y[r2], y[r3]: four rows against one stream of x.
    @inline(__always)
    private func gemv4(_ r0: Int, _ r1: Int, _ r2: Int, _ r3: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let w0 = UnsafePointer(codes + r0 &* cols), w1 = UnsafePointer(codes + r1 &* cols)
        let w2 = UnsafePointer(codes + r2 &* cols), w3 = UnsafePointer(codes + r3 &* cols)
        let nb = scaleColumns
        let s0 = UnsafePointer(scales + (r0 / 128) &* nb), s1 = UnsafePointer(scales + (r1 / 128) &* nb)
        let s2 = UnsafePointer(scales + (r2 / 128) &* nb), s3 = UnsafePointer(scales + (r3 / 128) &* nb)
        var t0 = SIMD8<Float>(), t1 = SIMD8<Float>(), t2 = SIMD8<Float>(), t3 = SIMD8<Float>()
        var c0 = 0
        for cb in 0..<nb {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            let width = min(128, cols &- c0)
            if width == 128 {
                for j in stride(from: 0, to: 128, by: 8) {
                    let c = c0 &+ j
                    let xv = lanes(x + c)
                    a0.addProduct(e4m3Fake32(w0 + c), xv)
                    a1.addProduct(e4m3Fake32(w1 + c), xv)
                    a2.addProduct(e4m3Fake32(w2 + c), xv)
                    a3.addProduct(e4m3Fake32(w3 + c), xv)
                }
            } else {
                var j = 0
                while j &+ 8 <= width {
                    let c = c0 &+ j
                    let xv = lanes(x + c)
                    a0.addProduct(e4m3Fake32(w0 + c), xv)
                    a1.addProduct(e4m3Fake32(w1 + c), xv)
                    a2.addProduct(e4m3Fake32(w2 + c), xv)
                    a3.addProduct(e4m3Fake32(w3 + c), xv)
                    j &+= 8
                }
                if j < width {
                    let c = c0 &+ j, n = width &- j
                    let xv = lanesPartial(x + c, n)
                    a0.addProduct(e4m3Fake32Partial(w0 + c, n), xv)
                    a1.addProduct(e4m3Fake32Partial(w1 + c, n), xv)
                    a2.addProduct(e4m3Fake32Partial(w2 + c, n), xv)
                    a3.addProduct(e4m3Fake32Partial(w3 + c, n), xv)
                }
            }
            t0.addProduct(a0, SIMD8(repeating: s0[cb] * fp8BlockScaleFactor))
            t1.addProduct(a1, SIMD8(repeating: s1[cb] * fp8BlockScaleFactor))
            t2.addProduct(a2, SIMD8(repeating: s2[cb] * fp8BlockScaleFactor))
            t3.addProduct(a3, SIMD8(repeating: s3[cb] * fp8BlockScaleFactor))
            c0 &+= 128
        }
        y[r0] = laneSum(t0); y[r1] = laneSum(t1); y[r2] = laneSum(t2); y[r3] = laneSum(t3)
    }

    /// One row, same operations per row as `gemv4`.
    func gemv1(_ r: Int, _ x: UnsafePointer<Float>) -> Float {
        let w = UnsafePointer(codes + r &* cols)
        let s = UnsafePointer(scales + (r / 128) &* scaleColumns)
        var total = SIMD8<Float>()
        var c0 = 0
        for cb in 0..<scaleColumns {
            var acc = SIMD8<Float>()
            let width = min(128, cols &- c0)
            var j = 0
            while j &+ 8 <= width {
                acc.addProduct(e4m3Fake32(w + (c0 &+ j)), lanes(x + (c0 &+ j)))
                j &+= 8
            }
            if j < width {
                let c = c0 &+ j, n = width &- j
                acc.addProduct(e4m3Fake32Partial(w + c, n), lanesPartial(x + c, n))
            }
            total.addProduct(acc, SIMD8(repeating: s[cb] * fp8BlockScaleFactor))
            c0 &+= 128
        }
        return laneSum(total)
    }
}
