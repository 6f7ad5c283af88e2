/// SIMD helpers of the baseline-ISA code in this module (quantization, decode, packing). The
/// kernels' own helpers and the canonical reduction are in Sources/StrataKernelsShared/Lanes.swift.

/// 8 E4M3 codes → their values / 256, exactly, without denormal arithmetic.
///
/// Builds the f16 bit pattern `(b & 0x7F) << 7 | (b & 0x80) << 8` — sign-extend to 16 bits, shift
/// by 7, clear bit 14 — and converts f16 → f32 in hardware (vpmovsxbw, vpsllw, vpand, vcvtph2ps).
/// Every finite code is exact, subnormals included; the NaN codes 0x7F/0xFF read as ±480.
/// Per-lane loops on purpose: the SIMD conversion initializers compile to outlined generic calls.
@inline(__always)
func e4m3Lanes(_ p: UnsafePointer<UInt8>) -> SIMD8<Float> {
    let b = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Int8>.self)
    return e4m3Lanes(b)
}

@inline(__always)
func e4m3Lanes(_ b: SIMD8<Int8>) -> SIMD8<Float> {
    var s = SIMD8<Int16>()
    for k in 0..<8 { s[k] = Int16(b[k]) }
    let h = (s &<< 7) & SIMD8(repeating: Int16(bitPattern: 0xBFFF))
    var f = SIMD8<Float>()
    for k in 0..<8 { f[k] = Float(Float16(bitPattern: UInt16(bitPattern: h[k]))) }
    return f
}

/// The first `n` (< 8) codes at `p` as lanes, the rest zero.
@inline(never)
func e4m3LanesPartial(_ p: UnsafePointer<UInt8>, _ n: Int) -> SIMD8<Float> {
    var b = SIMD8<Int8>()
    for k in 0..<n { b[k] = Int8(bitPattern: p[k]) }
    return e4m3Lanes(b)
}

/// 8 floats at `p`.
@inline(__always)
func lanes(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores 8 lanes at `p`.
@inline(__always)
func storeLanes(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
