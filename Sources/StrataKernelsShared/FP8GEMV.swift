import StrataKernelViews

/// FP8 GEMV for decode: W (rows, cols) E4M3 @ x (cols,) -> y (rows,).
///
/// Bandwidth-bound: every weight byte is read once per token. Each pass streams 4 rows against one
/// load of x, building f32 weights in registers with 3 integer ops per 16 codes (`e4m3Fake32x16`);
/// the reduction order is the canonical one of Lanes.swift, shared with the GEMMs. With AVX-512 a
/// vector is one register; AVX2 splits each into two (the 4 running totals then live in memory
/// between blocks, touched once per 128 columns).
extension FP8View {
    /// y[r] for r in `range`; x (cols,) pre-scaled (x·2^64, zero-padded to a multiple of 16), y (rows,).
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
        typealias V = SIMD16<Float>
        let w0 = codes + r0 &* cols, w1 = codes + r1 &* cols, w2 = codes + r2 &* cols, w3 = codes + r3 &* cols
        let nb = scaleColumns
        let s0 = scales + (r0 / 128) &* nb, s1 = scales + (r1 / 128) &* nb
        let s2 = scales + (r2 / 128) &* nb, s3 = scales + (r3 / 128) &* nb
        var t0 = V(), t1 = V(), t2 = V(), t3 = V()
        var c0 = 0
        for cb in 0..<nb {
            var a0 = V(), a1 = V(), a2 = V(), a3 = V()
            let width = min(128, cols &- c0)
            if width == 128 {
                for j in stride(from: 0, to: 128, by: 16) {
                    let c = c0 &+ j
                    let xv = V.load(x + c)
                    a0.addProduct(V.fake32(w0 + c), xv)
                    a1.addProduct(V.fake32(w1 + c), xv)
                    a2.addProduct(V.fake32(w2 + c), xv)
                    a3.addProduct(V.fake32(w3 + c), xv)
                }
            } else {
                var j = 0
                while j &+ 16 <= width {
                    let c = c0 &+ j
                    let xv = V.load(x + c)
                    a0.addProduct(V.fake32(w0 + c), xv)
                    a1.addProduct(V.fake32(w1 + c), xv)
                    a2.addProduct(V.fake32(w2 + c), xv)
                    a3.addProduct(V.fake32(w3 + c), xv)
                    j &+= 16
                }
                if j < width {
                    let c = c0 &+ j, n = width &- j
                    let xv = V.load(x + c)
                    a0.addProduct(V.fake32Partial(w0 + c, n), xv)
                    a1.addProduct(V.fake32Partial(w1 + c, n), xv)
                    a2.addProduct(V.fake32Partial(w2 + c, n), xv)
                    a3.addProduct(V.fake32Partial(w3 + c, n), xv)
                }
            }
            t0.addProduct(a0, V(repeating: s0[cb] * fp8BlockScaleFactor))
            t1.addProduct(a1, V(repeating: s1[cb] * fp8BlockScaleFactor))
            t2.addProduct(a2, V(repeating: s2[cb] * fp8BlockScaleFactor))
            t3.addProduct(a3, V(repeating: s3[cb] * fp8BlockScaleFactor))
            c0 &+= 128
        }
        y[r0] = laneSum16(t0); y[r1] = laneSum16(t1); y[r2] = laneSum16(t2); y[r3] = laneSum16(t3)
    }

    /// One row, the canonical reduction; x pre-scaled and zero-padded to a multiple of 16.
    func gemv1(_ r: Int, _ x: UnsafePointer<Float>) -> Float {
        typealias V = SIMD16<Float>
        let w = codes + r &* cols
        let s = scales + (r / 128) &* scaleColumns
        var total = V()
        var c0 = 0
        for cb in 0..<scaleColumns {
            var acc = V()
            let width = min(128, cols &- c0)
            var j = 0
            while j &+ 16 <= width {
                acc.addProduct(V.fake32(w + (c0 &+ j)), V.load(x + (c0 &+ j)))
                j &+= 16
            }
            if j < width {
                let c = c0 &+ j
                acc.addProduct(V.fake32Partial(w + c, width &- j), V.load(x + c))
            }
            total.addProduct(acc, V(repeating: s[cb] * fp8BlockScaleFactor))
            c0 &+= 128
        }
        return laneSum16(total)
    }
}
