import StrataKernelViews

/// SIMD building blocks shared by the GEMV and GEMM kernels, so that both perform literally the
/// same floating-point operations for a row (the batch-invariance contract).
///
/// The canonical reduction of one output `y[r] = Σ_c W[r, c]·x[c]`, used by every linear kernel:
///
///     total = 0 (8 lanes)
///     for each 128-wide column block cb (FP8) / the whole row as one block (f32):
///         acc = 0 (8 lanes)
///         for each 8-column vector j of the block, in order: acc = fma(w_j, x_j, acc)
///             (a ragged last vector is zero-padded: w = 0, x = 0)
///         total = fma(acc, splat(scale[cb] · 2^56), total)       (FP8 only; f32 has total = acc)
///     y[r] = laneSum(total)                                       (fixed tree, see `laneSum`)
///
/// For FP8 every product w_j·x_j is the exact real decode(code)·x·2^-56, formed two ways:
///   - GEMV: w = decode·2^-120 built straight in the f32 bits (`e4m3Fake32`, 3 integer ops, no
///     conversion instruction), x pre-scaled by 2^64 (exact for |x| < 2^64);
///   - GEMM: w = decode·2^-56 in the converted tile (`e4m3Fake32` × 2^64, exact), x as is.
/// An fma rounds only the sum, so both give bit-identical accumulators. The power-of-two scaling
/// changes no rounding unless a block's partial sum falls below 2^-70 in magnitude (f32 subnormal);
/// block scales must stay below 2^72 (real ones are ≈ amax/448 ≪ 1).

/// Activation pre-scale of the GEMV and block-scale factor of the FP8 kernels (see above).
var fp8ActivationScale: Float { FP8View.activationScale }
var fp8BlockScaleFactor: Float { FP8View.blockScaleFactor }

/// Horizontal sum in a fixed tree: ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7)).
@inline(__always)
func laneSum(_ v: SIMD8<Float>) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    return b[0] + b[1]
}

/// 8 E4M3 codes → decode(code)·2^-120, exactly, as f32 bit patterns: sign-extend to 32 bits,
/// shift left by 20 (em lands on the exponent's low 4 bits and the mantissa's top 3), clear bits
/// 30…27 (vpmovsxbd, vpslld, vpand). Codes with exponent 0 become f32 subnormals: they only ever
/// enter an fma as a multiplicand (exact, and measured penalty-free on AMD Zen 3, where this is
/// 1.4× faster than the f16 route: vcvtph2ps is the bottleneck there). NaN codes read as ±480·2^-120.
@inline(__always)
func e4m3Fake32(_ p: UnsafePointer<UInt8>) -> SIMD8<Float> {
    e4m3Fake32(UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Int8>.self))
}

@inline(__always)
func e4m3Fake32(_ b: SIMD8<Int8>) -> SIMD8<Float> {
    var s = SIMD8<Int32>()
    for k in 0..<8 { s[k] = Int32(b[k]) }
    let h = (s &<< 20) & SIMD8(repeating: Int32(bitPattern: 0x87FF_FFFF))
    var f = SIMD8<Float>()
    for k in 0..<8 { f[k] = Float(bitPattern: UInt32(bitPattern: h[k])) }
    return f
}

/// The first `n` (< 8) codes at `p` through `e4m3Fake32`, the rest zero.
@inline(never)
func e4m3Fake32Partial(_ p: UnsafePointer<UInt8>, _ n: Int) -> SIMD8<Float> {
    var b = SIMD8<Int8>()
    for k in 0..<n { b[k] = Int8(bitPattern: p[k]) }
    return e4m3Fake32(b)
}

/// 8 floats at `p`.
@inline(__always)
func lanes(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// The first `n` (< 8) floats at `p`, the rest zero.
@inline(never)
func lanesPartial(_ p: UnsafePointer<Float>, _ n: Int) -> SIMD8<Float> {
    var v = SIMD8<Float>()
    for k in 0..<n { v[k] = p[k] }
    return v
}

/// Stores 8 lanes at `p`.
@inline(__always)
func storeLanes(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Horizontal sum of 16 lanes in a fixed tree: lanes i and i+8 first, then `laneSum` (the f16
/// linear's reduction, F16Kernels.swift).
@inline(__always)
func laneSum16(_ v: SIMD16<Float>) -> Float {
    laneSum(v.lowHalf + v.highHalf)
}
