/// Register-blocked f32 dot-product micro-kernels for the GEMMs: 4 weight rows × T tokens, one
/// 8-lane accumulator per (token, row), each a single fma chain over the vectors in order — the
/// `acc` loop of the canonical reduction (Lanes.swift).
///
///   w    4 rows of `width` floats, row stride `wStride`; lanes past `width` up to the next
///        multiple of 8 must be readable (the kernels zero-pad their tiles)
///   x    T tokens of `width` floats, token stride `xStride` (ragged last vector zero-padded)
///   acc  (T, 4) accumulators out, token-major

/// 4 rows × 3 tokens: 12 accumulators, 7 loads per 12 fmas.
@inline(__always)
func micro4x3(
    _ w: UnsafePointer<Float>, wStride: Int, _ x: UnsafePointer<Float>, xStride: Int,
    width: Int, wTailReadable: Bool, into acc: UnsafeMutablePointer<SIMD8<Float>>
) {
    let w0 = w, w1 = w + wStride, w2 = w1 + wStride, w3 = w2 + wStride
    let x0 = x, x1 = x + xStride, x2 = x1 + xStride
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
    var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>(), a23 = SIMD8<Float>()
    var j = 0
    while j &+ 8 <= width {
        let v0 = lanes(w0 + j), v1 = lanes(w1 + j), v2 = lanes(w2 + j), v3 = lanes(w3 + j)
        let y0 = lanes(x0 + j)
        a00.addProduct(v0, y0); a01.addProduct(v1, y0); a02.addProduct(v2, y0); a03.addProduct(v3, y0)
        let y1 = lanes(x1 + j)
        a10.addProduct(v0, y1); a11.addProduct(v1, y1); a12.addProduct(v2, y1); a13.addProduct(v3, y1)
        let y2 = lanes(x2 + j)
        a20.addProduct(v0, y2); a21.addProduct(v1, y2); a22.addProduct(v2, y2); a23.addProduct(v3, y2)
        j &+= 8
    }
    if j < width {
        let n = width &- j
        let v0 = weightTail(w0 + j, n, wTailReadable), v1 = weightTail(w1 + j, n, wTailReadable)
        let v2 = weightTail(w2 + j, n, wTailReadable), v3 = weightTail(w3 + j, n, wTailReadable)
        let y0 = lanesPartial(x0 + j, n), y1 = lanesPartial(x1 + j, n), y2 = lanesPartial(x2 + j, n)
        a00.addProduct(v0, y0); a01.addProduct(v1, y0); a02.addProduct(v2, y0); a03.addProduct(v3, y0)
        a10.addProduct(v0, y1); a11.addProduct(v1, y1); a12.addProduct(v2, y1); a13.addProduct(v3, y1)
        a20.addProduct(v0, y2); a21.addProduct(v1, y2); a22.addProduct(v2, y2); a23.addProduct(v3, y2)
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a02; acc[3] = a03
    acc[4] = a10; acc[5] = a11; acc[6] = a12; acc[7] = a13
    acc[8] = a20; acc[9] = a21; acc[10] = a22; acc[11] = a23
}

/// 4 rows × 1 token (batch remainders and the f32 GEMV).
@inline(__always)
func micro4x1(
    _ w: UnsafePointer<Float>, wStride: Int, _ x: UnsafePointer<Float>,
    width: Int, wTailReadable: Bool, into acc: UnsafeMutablePointer<SIMD8<Float>>
) {
    let w0 = w, w1 = w + wStride, w2 = w1 + wStride, w3 = w2 + wStride
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var j = 0
    while j &+ 8 <= width {
        let y = lanes(x + j)
        a0.addProduct(lanes(w0 + j), y); a1.addProduct(lanes(w1 + j), y)
        a2.addProduct(lanes(w2 + j), y); a3.addProduct(lanes(w3 + j), y)
        j &+= 8
    }
    if j < width {
        let n = width &- j
        let y = lanesPartial(x + j, n)
        a0.addProduct(weightTail(w0 + j, n, wTailReadable), y)
        a1.addProduct(weightTail(w1 + j, n, wTailReadable), y)
        a2.addProduct(weightTail(w2 + j, n, wTailReadable), y)
        a3.addProduct(weightTail(w3 + j, n, wTailReadable), y)
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3
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
