import StrataKernelViews

/// f16 linears (the embedding and output head): f16 → f32 is exact, so every path computes the
/// f32 dot product of the f16 values in `rowDot`'s order — two 8-lane fma chains over 16-value
/// pieces, one more 8-value piece into the first, the same lane tree, then a scalar tail.

extension F16View {

    /// Y[b, r] for r in `range` and every b < batch (batch > 1): each row streams once against
    /// 4 tokens at a time (`dot1x4`), the ≤ 3 tokens left one by one.
    func rows(_ range: Range<Int>, x: UnsafePointer<Float>, batch: Int, y: UnsafeMutablePointer<Float>) {
        for r in range {
            // The row 2 ahead, line by line (a 576-wide f16 row is 18 lines): 11% faster at
            // batch 8 over DRAM-resident weights (paired passes, prefetch on/off alternating).
            prefetchLines(UnsafeRawPointer(values + (r &+ 2) &* cols), bytes: cols &* 2)
            var b = 0
            while b &+ 4 <= batch {
                dot1x4(r, x: x + b &* cols, y: y + b &* rows)
                b &+= 4
            }
            while b < batch {
                y[b &* rows &+ r] = rowDot(r, x: x + b &* cols)
                b &+= 1
            }
        }
    }

    /// y[r] = W[r] · x for r in `range`. The range is cut into 4 contiguous quarters and pass k
    /// takes row k of each (4 long memory streams for the prefetcher, one load of x for 4 rows),
    /// as in the FP8 GEMV.
    func gemv(rows range: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let q = range.count / 4, lo = range.lowerBound
        for k in 0..<q { dot4(lo &+ k, spread: q, x: x, y: y) }
        for r in (lo &+ 4 &* q)..<range.upperBound { y[r] = rowDot(r, x: x) }
    }

    /// y[r], y[r+spread], y[r+2·spread], y[r+3·spread]; per row exactly `rowDot`'s operations.
    @inline(__always)
    private func dot4(_ r: Int, spread: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let n = cols, step = spread &* n
        let w0 = values + r &* n, w1 = w0 + step, w2 = w1 + step, w3 = w2 + step
        var a0 = SIMD8<Float>(), b0 = SIMD8<Float>(), a1 = SIMD8<Float>(), b1 = SIMD8<Float>()
        var a2 = SIMD8<Float>(), b2 = SIMD8<Float>(), a3 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var i = 0
        while i &+ 16 <= n {
            let j = i &+ 8
            let xa = lanes(x + i), xb = lanes(x + j)
            a0.addProduct(f16Lanes(w0 + i), xa); b0.addProduct(f16Lanes(w0 + j), xb)
            a1.addProduct(f16Lanes(w1 + i), xa); b1.addProduct(f16Lanes(w1 + j), xb)
            a2.addProduct(f16Lanes(w2 + i), xa); b2.addProduct(f16Lanes(w2 + j), xb)
            a3.addProduct(f16Lanes(w3 + i), xa); b3.addProduct(f16Lanes(w3 + j), xb)
            i &+= 16
        }
        if i &+ 8 <= n {
            let xa = lanes(x + i)
            a0.addProduct(f16Lanes(w0 + i), xa); a1.addProduct(f16Lanes(w1 + i), xa)
            a2.addProduct(f16Lanes(w2 + i), xa); a3.addProduct(f16Lanes(w3 + i), xa)
            i &+= 8
        }
        y[r] = f16Finish(a0, b0, w0, x, from: i, n)
        y[r &+ spread] = f16Finish(a1, b1, w1, x, from: i, n)
        y[r &+ 2 &* spread] = f16Finish(a2, b2, w2, x, from: i, n)
        y[r &+ 3 &* spread] = f16Finish(a3, b3, w3, x, from: i, n)
    }

    /// W[r] · x, `rowDot`'s operations.
    func rowDot(_ r: Int, x: UnsafePointer<Float>) -> Float {
        let n = cols, w = values + r &* n
        var a = SIMD8<Float>(), b = SIMD8<Float>()
        var i = 0
        while i &+ 16 <= n {
            a.addProduct(f16Lanes(w + i), lanes(x + i)); b.addProduct(f16Lanes(w + (i &+ 8)), lanes(x + (i &+ 8)))
            i &+= 16
        }
        if i &+ 8 <= n { a.addProduct(f16Lanes(w + i), lanes(x + i)); i &+= 8 }
        return f16Finish(a, b, w, x, from: i, n)
    }

    /// Row r against tokens x (4, cols) → y[t·rows + r]: 8 accumulators (4 tokens × `rowDot`'s
    /// two chains) + 2 converted weight vectors + 1 activation = 11 ymm registers.
    @inline(__always)
    private func dot1x4(_ r: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let n = cols, w = values + r &* n
        let x0 = x, x1 = x0 + n, x2 = x1 + n, x3 = x2 + n
        var a0 = SIMD8<Float>(), b0 = SIMD8<Float>(), a1 = SIMD8<Float>(), b1 = SIMD8<Float>()
        var a2 = SIMD8<Float>(), b2 = SIMD8<Float>(), a3 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var i = 0
        while i &+ 16 <= n {
            let j = i &+ 8
            let va = f16Lanes(w + i), vb = f16Lanes(w + j)
            a0.addProduct(va, lanes(x0 + i)); b0.addProduct(vb, lanes(x0 + j))
            a1.addProduct(va, lanes(x1 + i)); b1.addProduct(vb, lanes(x1 + j))
            a2.addProduct(va, lanes(x2 + i)); b2.addProduct(vb, lanes(x2 + j))
            a3.addProduct(va, lanes(x3 + i)); b3.addProduct(vb, lanes(x3 + j))
            i &+= 16
        }
        if i &+ 8 <= n {
            let va = f16Lanes(w + i)
            a0.addProduct(va, lanes(x0 + i)); a1.addProduct(va, lanes(x1 + i))
            a2.addProduct(va, lanes(x2 + i)); a3.addProduct(va, lanes(x3 + i))
            i &+= 8
        }
        y[r] = f16Finish(a0, b0, w, x0, from: i, n)
        y[rows &+ r] = f16Finish(a1, b1, w, x1, from: i, n)
        y[2 &* rows &+ r] = f16Finish(a2, b2, w, x2, from: i, n)
        y[3 &* rows &+ r] = f16Finish(a3, b3, w, x3, from: i, n)
    }
}

/// 8 f16 values as f32 (exact). Per-lane conversion compiles to one vcvtph2ps (the SIMD
/// initializer is an outlined generic call).
@inline(__always)
func f16Lanes(_ p: UnsafePointer<Float16>) -> SIMD8<Float> {
    let h = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float16>.self)
    var f = SIMD8<Float>()
    for k in 0..<8 { f[k] = Float(h[k]) }
    return f
}

/// `rowDot`'s ending: accumulators summed by the same lane tree, then the scalar tail from `i`.
@inline(__always)
func f16Finish(_ acc0: SIMD8<Float>, _ acc1: SIMD8<Float>, _ a: UnsafePointer<Float16>, _ b: UnsafePointer<Float>, from i: Int, _ n: Int) -> Float {
    let v = acc0 + acc1
    let h = v.lowHalf + v.highHalf
    let q = h.lowHalf + h.highHalf
    var s = q[0] + q[1]
    var i = i
    while i < n { s.addProduct(Float(a[i]), b[i]); i &+= 1 }
    return s
}

/// dst[i] = f16(src[i]), round to nearest even (vcvtps2ph with F16C; software on the baseline).
func f16FromF32(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float16>, count n: Int) {
    var i = 0
    while i &+ 8 <= n {
        let v = lanes(src + i)
        var h = SIMD8<Float16>()
        for k in 0..<8 { h[k] = Float16(v[k]) }
        UnsafeMutableRawPointer(dst + i).storeBytes(of: h, as: SIMD8<Float16>.self)
        i &+= 8
    }
    while i < n { dst[i] = Float16(src[i]); i &+= 1 }
}
