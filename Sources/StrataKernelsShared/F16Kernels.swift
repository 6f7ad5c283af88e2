import StrataKernelViews

/// f16 linears (the embedding and output head): f16 → f32 is exact, so every path computes the
/// f32 dot product of the f16 values in `rowDot`'s order — a 16-lane fma chain over 16-value
/// pieces, one more 8-value piece into lanes 0–7, the same lane tree, then a scalar tail.

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
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var i = 0
        while i &+ 16 <= n {
            let xv = lanes16(x + i)
            a0.addProduct(f16Lanes16(w0 + i), xv); a1.addProduct(f16Lanes16(w1 + i), xv)
            a2.addProduct(f16Lanes16(w2 + i), xv); a3.addProduct(f16Lanes16(w3 + i), xv)
            i &+= 16
        }
        if i &+ 8 <= n {
            let xa = lanes(x + i)
            a0.lowHalf.addProduct(f16Lanes(w0 + i), xa); a1.lowHalf.addProduct(f16Lanes(w1 + i), xa)
            a2.lowHalf.addProduct(f16Lanes(w2 + i), xa); a3.lowHalf.addProduct(f16Lanes(w3 + i), xa)
            i &+= 8
        }
        y[r] = f16Finish(a0, w0, x, from: i, n)
        y[r &+ spread] = f16Finish(a1, w1, x, from: i, n)
        y[r &+ 2 &* spread] = f16Finish(a2, w2, x, from: i, n)
        y[r &+ 3 &* spread] = f16Finish(a3, w3, x, from: i, n)
    }

    /// W[r] · x: 16 lanes (lane l sums columns ≡ l mod 16 in order; one AVX-512 register, two
    /// AVX2 ones), an 8-value remainder into lanes 0–7, the lane tree, then the scalar tail.
    func rowDot(_ r: Int, x: UnsafePointer<Float>) -> Float {
        let n = cols, w = values + r &* n
        var a = SIMD16<Float>()
        var i = 0
        while i &+ 16 <= n {
            a.addProduct(f16Lanes16(w + i), lanes16(x + i))
            i &+= 16
        }
        if i &+ 8 <= n { a.lowHalf.addProduct(f16Lanes(w + i), lanes(x + i)); i &+= 8 }
        return f16Finish(a, w, x, from: i, n)
    }

    /// Row r against tokens x (4, cols) → y[t·rows + r]: 4 accumulators (`rowDot`'s 16 lanes per
    /// token) + 1 converted weight vector + 1 activation (AVX2: 12 of 16 ymm registers).
    @inline(__always)
    private func dot1x4(_ r: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let n = cols, w = values + r &* n
        let x0 = x, x1 = x0 + n, x2 = x1 + n, x3 = x2 + n
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var i = 0
        while i &+ 16 <= n {
            let v = f16Lanes16(w + i)
            a0.addProduct(v, lanes16(x0 + i)); a1.addProduct(v, lanes16(x1 + i))
            a2.addProduct(v, lanes16(x2 + i)); a3.addProduct(v, lanes16(x3 + i))
            i &+= 16
        }
        if i &+ 8 <= n {
            let va = f16Lanes(w + i)
            a0.lowHalf.addProduct(va, lanes(x0 + i)); a1.lowHalf.addProduct(va, lanes(x1 + i))
            a2.lowHalf.addProduct(va, lanes(x2 + i)); a3.lowHalf.addProduct(va, lanes(x3 + i))
            i &+= 8
        }
        y[r] = f16Finish(a0, w, x0, from: i, n)
        y[rows &+ r] = f16Finish(a1, w, x1, from: i, n)
        y[2 &* rows &+ r] = f16Finish(a2, w, x2, from: i, n)
        y[3 &* rows &+ r] = f16Finish(a3, w, x3, from: i, n)
    }
}

/// 16 f16 values as f32 (exact; one vcvtph2ps zmm with AVX-512, two ymm with F16C).
@inline(__always)
func f16Lanes16(_ p: UnsafePointer<Float16>) -> SIMD16<Float> {
    let h = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float16>.self)
    var f = SIMD16<Float>()
    for k in 0..<16 { f[k] = Float(h[k]) }
    return f
}

/// 16 floats at `p`.
@inline(__always)
func lanes16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
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

/// `rowDot`'s ending: the 16 lanes summed by the fixed tree (`laneSum16`), then the scalar tail
/// from `i`.
@inline(__always)
func f16Finish(_ acc: SIMD16<Float>, _ a: UnsafePointer<Float16>, _ b: UnsafePointer<Float>, from i: Int, _ n: Int) -> Float {
    var s = laneSum16(acc)
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

/// out[i] = f32(src[i]) for `count` f16 values at a possibly unaligned address (exact; vcvtph2ps
/// with F16C, software on the baseline).
func f16ToF32(_ src: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
    let o = UnsafeMutableRawPointer(out)
    var i = 0
    while i &+ 16 <= count {
        let h = src.loadUnaligned(fromByteOffset: i &* 2, as: SIMD16<UInt16>.self)
        var v = SIMD16<Float>()
        for k in 0..<16 { v[k] = Float(Float16(bitPattern: h[k])) }
        o.storeBytes(of: v, toByteOffset: i &* 4, as: SIMD16<Float>.self)
        i &+= 16
    }
    for j in i..<count { out[j] = Float(Float16(bitPattern: src.loadUnaligned(fromByteOffset: j &* 2, as: UInt16.self))) }
}
