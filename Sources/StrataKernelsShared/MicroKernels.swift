import StrataKernelViews

/// Register-blocked f32 dot-product micro-kernels for the GEMMs: 3 weight rows × T tokens, one
/// 8-lane accumulator per (token, row), each a single fma chain over the vectors in order — the
/// `acc` loop of the canonical reduction (Lanes.swift).
///
///   w    3 rows of `width` floats, row stride `wStride`; with `wTailReadable`, lanes past `width`
///        up to the next multiple of 8 are readable zeros (the kernels' zero-padded tiles)
///   x    T tokens of `width` floats, token stride `xStride` (ragged last vector zero-padded)
///   acc  (T, 3) accumulators out, token-major; or, with `scales`, the FP8 block step
///        acc[t·stride + i] = fma(block accumulator, splat(scales[i]), acc[t·stride + i])

/// 3 rows × 4 tokens: 12 accumulators + 3 weight vectors + 1 activation = 16 ymm registers;
/// 7 loads per 12 fmas.
@inline(__always)
func micro3x4(
    _ w: UnsafePointer<Float>, wStride: Int, _ x: UnsafePointer<Float>, xStride: Int,
    width: Int, wTailReadable: Bool, into acc: UnsafeMutablePointer<SIMD8<Float>>,
    scales: SIMD4<Float>? = nil, accStride: Int = 3
) {
    let w0 = w, w1 = w + wStride, w2 = w1 + wStride
    let x0 = x, x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>()
    var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>()
    var a30 = SIMD8<Float>(), a31 = SIMD8<Float>(), a32 = SIMD8<Float>()
    var j = 0
    while j &+ 8 <= width {
        let v0 = lanes(w0 + j), v1 = lanes(w1 + j), v2 = lanes(w2 + j)
        let y0 = lanes(x0 + j)
        a00.addProduct(v0, y0); a01.addProduct(v1, y0); a02.addProduct(v2, y0)
        let y1 = lanes(x1 + j)
        a10.addProduct(v0, y1); a11.addProduct(v1, y1); a12.addProduct(v2, y1)
        let y2 = lanes(x2 + j)
        a20.addProduct(v0, y2); a21.addProduct(v1, y2); a22.addProduct(v2, y2)
        let y3 = lanes(x3 + j)
        a30.addProduct(v0, y3); a31.addProduct(v1, y3); a32.addProduct(v2, y3)
        j &+= 8
    }
    if j < width {
        let n = width &- j
        let v0 = weightTail(w0 + j, n, wTailReadable), v1 = weightTail(w1 + j, n, wTailReadable)
        let v2 = weightTail(w2 + j, n, wTailReadable)
        let y0 = lanesPartial(x0 + j, n), y1 = lanesPartial(x1 + j, n)
        let y2 = lanesPartial(x2 + j, n), y3 = lanesPartial(x3 + j, n)
        a00.addProduct(v0, y0); a01.addProduct(v1, y0); a02.addProduct(v2, y0)
        a10.addProduct(v0, y1); a11.addProduct(v1, y1); a12.addProduct(v2, y1)
        a20.addProduct(v0, y2); a21.addProduct(v1, y2); a22.addProduct(v2, y2)
        a30.addProduct(v0, y3); a31.addProduct(v1, y3); a32.addProduct(v2, y3)
    }
    if let s = scales {
        let s0 = SIMD8(repeating: s[0]), s1 = SIMD8(repeating: s[1]), s2 = SIMD8(repeating: s[2])
        let t0 = acc, t1 = acc + accStride, t2 = t1 + accStride, t3 = t2 + accStride
        t0[0].addProduct(a00, s0); t0[1].addProduct(a01, s1); t0[2].addProduct(a02, s2)
        t1[0].addProduct(a10, s0); t1[1].addProduct(a11, s1); t1[2].addProduct(a12, s2)
        t2[0].addProduct(a20, s0); t2[1].addProduct(a21, s1); t2[2].addProduct(a22, s2)
        t3[0].addProduct(a30, s0); t3[1].addProduct(a31, s1); t3[2].addProduct(a32, s2)
        return
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a02
    acc[3] = a10; acc[4] = a11; acc[5] = a12
    acc[6] = a20; acc[7] = a21; acc[8] = a22
    acc[9] = a30; acc[10] = a31; acc[11] = a32
}

/// 3 rows × 1 token (batch remainders and the f32 GEMV).
@inline(__always)
func micro3x1(
    _ w: UnsafePointer<Float>, wStride: Int, _ x: UnsafePointer<Float>,
    width: Int, wTailReadable: Bool, into acc: UnsafeMutablePointer<SIMD8<Float>>
) {
    let w0 = w, w1 = w + wStride, w2 = w1 + wStride
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>()
    var j = 0
    while j &+ 8 <= width {
        let y = lanes(x + j)
        a0.addProduct(lanes(w0 + j), y); a1.addProduct(lanes(w1 + j), y); a2.addProduct(lanes(w2 + j), y)
        j &+= 8
    }
    if j < width {
        let n = width &- j
        let y = lanesPartial(x + j, n)
        a0.addProduct(weightTail(w0 + j, n, wTailReadable), y)
        a1.addProduct(weightTail(w1 + j, n, wTailReadable), y)
        a2.addProduct(weightTail(w2 + j, n, wTailReadable), y)
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2
}

/// 1 row × 1 token (row remainders of the f32 kernels).
@inline(__always)
func micro1x1(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, width: Int) -> SIMD8<Float> {
    var a = SIMD8<Float>()
    var j = 0
    while j &+ 8 <= width {
        a.addProduct(lanes(w + j), lanes(x + j))
        j &+= 8
    }
    if j < width { a.addProduct(lanesPartial(w + j, width &- j), lanesPartial(x + j, width &- j)) }
    return a
}

/// Ragged last weight vector: a full load from a zero-padded tile, else a partial load.
@inline(__always)
private func weightTail(_ p: UnsafePointer<Float>, _ n: Int, _ readable: Bool) -> SIMD8<Float> {
    readable ? lanes(p) : lanesPartial(p, n)
}
