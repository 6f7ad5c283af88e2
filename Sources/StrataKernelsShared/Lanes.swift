import StrataKernelViews

/// SIMD building blocks of the linear kernels, so that every kernel of a weight kind performs
/// literally the same floating-point operations for a row (the batch-invariance contract), and
/// every ISA variant too (the same source, explicit fma, fixed trees).
///
/// The canonical reduction of one FP8 output `y[r] = Σ_c W[r, c]·x[c]` (GEMV, streaming and tiled
/// GEMMs), 16 lanes — one AVX-512 register, two AVX2 ones, four SSE/NEON ones:
///
///     total = 0 (16 lanes)
///     for each 128-wide column block cb:
///         acc = 0 (16 lanes)
///         for each 16-column vector j of the block, in order: acc = fma(w_j, x_j, acc)
///             (a ragged last vector is zero-padded: w = 0, x = 0)
///         total = fma(acc, splat(scale[cb] · 2^56), total)
///     y[r] = laneSum16(total)                  (fixed tree: lanes i and i+8 first, then `laneSum`)
///
/// Lane l sums the columns ≡ l (mod 16) of each block in order, so a kernel may compute the 16
/// lanes as two 8-lane halves one after the other (`FP8Vector`, AVX2's register budget) and get
/// the same bits. The f32 linear and attention keep 8 lanes over the whole row (MicroKernels.swift).
///
/// For FP8 every product w_j·x_j is the exact real decode(code)·x·2^-56, formed two ways:
///   - GEMV and streaming GEMM: w = decode·2^-120 built straight in the f32 bits (`e4m3Fake32`,
///     3 integer ops, no conversion instruction), x pre-scaled by 2^64 (exact for |x| < 2^64);
///   - tiled GEMM: w = decode·2^-56 in the converted tile (`e4m3Fake32` × 2^64, exact), x as is.
/// An fma rounds only the sum, so both give bit-identical accumulators. The power-of-two scaling
/// changes no rounding unless a block's partial sum falls below 2^-70 in magnitude (f32 subnormal);
/// block scales must stay below 2^72 (real ones are ≈ amax/448 ≪ 1).

/// Activation pre-scale of the GEMV and block-scale factor of the FP8 kernels (see above).
let fp8ActivationScale: Float = 0x1p64
let fp8BlockScaleFactor: Float = 0x1p56

/// Horizontal sum of 8 lanes in a fixed tree: ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7)).
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

/// Horizontal sum of 16 lanes in a fixed tree: lanes i and i+8 first, then `laneSum`.
@inline(__always)
func laneSum16(_ v: SIMD16<Float>) -> Float {
    laneSum(v.lowHalf + v.highHalf)
}

/// A vector of FP8 kernel lanes: all 16 (`SIMD16`) or one half of them (`SIMD8`; `halves` = 2).
/// Kernels written over `FP8Vector` loop over the halves, each at lane offset `half · count`.
protocol FP8Vector: SIMD where Scalar == Float {
    static func load(_ p: UnsafePointer<Float>) -> Self
    /// Codes at p through `e4m3Fake32` (decode·2^-120).
    static func fake32(_ p: UnsafePointer<UInt8>) -> Self
    /// The first n (0 ≤ n < count) codes at p, the rest zero.
    static func fake32Partial(_ p: UnsafePointer<UInt8>, _ n: Int) -> Self
    func store(_ p: UnsafeMutablePointer<Float>)
}

extension FP8Vector {
    /// Halves of the 16 canonical lanes per vector (1 or 2).
    static var halves: Int { 16 / scalarCount }
}

extension SIMD8: FP8Vector where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { lanes(p) }
    @inline(__always) static func fake32(_ p: UnsafePointer<UInt8>) -> Self { e4m3Fake32(p) }
    @inline(__always) static func fake32Partial(_ p: UnsafePointer<UInt8>, _ n: Int) -> Self { e4m3Fake32Partial(p, n) }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { storeLanes(self, p) }
}

extension SIMD16: FP8Vector where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
    @inline(__always) static func fake32(_ p: UnsafePointer<UInt8>) -> Self { e4m3Fake32x16(p) }
    @inline(__always) static func fake32Partial(_ p: UnsafePointer<UInt8>, _ n: Int) -> Self {
        var b = SIMD16<Int8>()
        for k in 0..<n { b[k] = Int8(bitPattern: p[k]) }
        return e4m3Fake32x16(b)
    }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self) }
}

/// 16 codes through `e4m3Fake32` (vpmovsxbd zmm, vpslld, vpandd with AVX-512).
@inline(__always)
func e4m3Fake32x16(_ p: UnsafePointer<UInt8>) -> SIMD16<Float> {
    e4m3Fake32x16(UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Int8>.self))
}

@inline(__always)
func e4m3Fake32x16(_ b: SIMD16<Int8>) -> SIMD16<Float> {
    var s = SIMD16<Int32>()
    for k in 0..<16 { s[k] = Int32(b[k]) }
    let h = (s &<< 20) & SIMD16(repeating: Int32(bitPattern: 0x87FF_FFFF))
    var f = SIMD16<Float>()
    for k in 0..<16 { f[k] = Float(bitPattern: UInt32(bitPattern: h[k])) }
    return f
}

/// The vector the FP8 GEMMs' register-blocked kernels use: all 16 lanes where 32 registers hold
/// a 3×4 block of them (AVX-512), else 8-lane halves (AVX2's 16 registers; the baseline).
#if STRATA_ISA_AVX512
typealias FP8GemmVector = SIMD16<Float>
#else
typealias FP8GemmVector = SIMD8<Float>
#endif

/// Lanes [offset, offset + V.count) of a 16-lane total in memory: t = fma(a, splat(k), t).
@inline(__always)
func accumulate<V: FP8Vector>(_ a: V, scale k: Float, into total: UnsafeMutablePointer<SIMD16<Float>>, offset: Int) {
    let p = UnsafeMutableRawPointer(total).assumingMemoryBound(to: Float.self) + offset
    V.load(p).addingProduct(a, V(repeating: k)).store(p)
}
