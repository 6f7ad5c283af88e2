import StrataKernelViews

/// The FP8 quantizer's hot loops (StrataKernels' `BlockScaledFP8Matrix.init(…quantizing:)`): the
/// per-block scale search and the encode. The rule, its reasons and the canonical order of the
/// error sum are documented with `BlockScaledFP8Matrix.blockScale` (StrataKernels/FP8ScaleSearch.swift).

var e4m3Max: Float { FP8View.e4m3Max }
var scaleSearchSteps: Int { FP8View.scaleSearchSteps }

/// Scale of a block (rows × cols floats, rows `stride` apart): the candidate with the smallest
/// squared reconstruction error (first on ties), 1 for an all-zero block.
func fp8BlockScale(_ x: UnsafePointer<Float>, rows: Int, cols: Int, stride: Int) -> Float {
    let amax = blockAbsMax(x, rows: rows, cols: cols, stride: stride)
    guard amax > 0 else { return 1 }
    let base = amax / e4m3Max
    var best = (err: Double.infinity, scale: base)
    for k in 0...scaleSearchSteps {
        let s = base * (1 + Float(k) / 128)
        let err = trialError(x, rows: rows, cols: cols, stride: stride, scale: s)
        if err < best.err { best = (err, s) }
    }
    return best.scale
}

/// Rows [r0, r0+n) of an FP8 matrix from their f32 values `tile` (n, cols): each 128-wide block's
/// scale by `fp8BlockScale` into scales[r0/128 · scaleColumns + cb], codes = encode(clamp(x / scale,
/// ±448)) into codes (·, cols).
func fp8QuantizeTile(_ tile: UnsafePointer<Float>, rowCount n: Int, cols: Int, firstRow r0: Int,
                     codes: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<Float>) {
    let scaleColumns = (cols + 127) / 128, rb = r0 / 128
    for cb in 0..<scaleColumns {
        let c0 = cb * 128, w = min(128, cols - c0)
        let scale = fp8BlockScale(tile + c0, rows: n, cols: w, stride: cols)
        scales[rb * scaleColumns + cb] = scale
        let sv = SIMD8<Float>(repeating: scale)
        for r in 0..<n {
            let src = tile + r * cols + c0, dst = codes + (r0 + r) * cols + c0
            var c = 0
            while c &+ 8 <= w {
                let code = e4m3ClampEncode(lanes(src + c) / sv)   // = E4M3.encode(min(max(x / scale, −448), 448))
                for k in 0..<8 { dst[c &+ k] = UInt8(truncatingIfNeeded: code[k]) }
                c &+= 8
            }
            if c < w {
                let code = e4m3ClampEncode(lanesPartial(src + c, w &- c) / sv)
                for k in 0..<(w &- c) { dst[c &+ k] = UInt8(truncatingIfNeeded: code[k]) }
            }
        }
    }
}

/// max |x| over the block (NaN ignored, as `Swift.max` does).
func blockAbsMax(_ x: UnsafePointer<Float>, rows: Int, cols: Int, stride: Int) -> Float {
    var m = SIMD8<Float>()
    for r in 0..<rows {
        let row = x + r * stride
        var c = 0
        while c &+ 8 <= cols {
            let a = magnitude(lanes(row + c))
            m.replace(with: a, where: a .> m)
            c &+= 8
        }
        if c < cols {
            let a = magnitude(lanesPartial(row + c, cols &- c))
            m.replace(with: a, where: a .> m)
        }
    }
    // A lane loop, not `m.max()`: that is a stdlib generic specialization, emitted as a weak
    // symbol by every variant module and merged by the linker into one copy — an AVX-512 one
    // in the generic kernels (SIGILL under `qemu -cpu Nehalem`; ops/test checks for such symbols).
    var best: Float = 0
    for k in 0..<8 where m[k] > best { best = m[k] }
    return best
}

/// Σ d² of the block at scale `s`, in the canonical order: lane j of `acc` sums the
/// elements of columns ≡ j (mod 8), rows and columns in order.
func trialError(_ x: UnsafePointer<Float>, rows: Int, cols: Int, stride: Int, scale s: Float) -> Double {
    var acc = SIMD8<Double>()
    let sv = SIMD8<Float>(repeating: s)
    for r in 0..<rows {
        let row = x + r * stride
        var c = 0
        while c &+ 8 <= cols {
            accumulateSquaredError(lanes(row + c), sv, &acc)
            c &+= 8
        }
        // Padding lanes hold x = 0, so d = 0 and they add +0 (no change to a sum ≥ +0).
        if c < cols { accumulateSquaredError(lanesPartial(row + c, cols &- c), sv, &acc) }
    }
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// Adds d² per lane in f64, d = f64(decode(encode(clamp(w / s))) · s) − f64(w), multiply then
/// add, unfused, as the reference does. d is formed in f32 and then widened, which is exact:
/// q = decode(…) · s lies within [w/2, 2w] of w (Sterbenz: q − w is a float) except where the
/// code is the smallest subnormal, where q/w < 2 + 2⁻⁴⁶ and |q − w| < 2·2^exponent(w), still a
/// multiple of w's ulp in 24 bits; q = 0, ±inf and NaN give the same d either way.
/// The widening is one 8-lane conversion on purpose: widening the two halves separately makes
/// LLVM split every f32 operation before it into 4-lane halves (1.8× slower, measured).
@inline(__always)
func accumulateSquaredError(_ w: SIMD8<Float>, _ s: SIMD8<Float>, _ acc: inout SIMD8<Double>) {
    let d = e4m3ClampRoundTrip(w / s) * s - w
    let wide = SIMD8<Double>(Double(d[0]), Double(d[1]), Double(d[2]), Double(d[3]),
                             Double(d[4]), Double(d[5]), Double(d[6]), Double(d[7]))
    acc += wide * wide
}

/// |v| per lane (sign bit cleared).
@inline(__always)
func magnitude(_ v: SIMD8<Float>) -> SIMD8<Float> {
    unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
}

/// The parts of E4M3's encoder for |v| clamped to 448, per lane, on integer bits only: lane
/// selects (`replace(with:where:)`) compile to scalar extracts and inserts here, so the ranges
/// are told apart with masks. |v|'s bits are an ordered integer, so clamping is an integer min.
/// Normal range (|v| ≥ 2⁻⁶): round the f32 mantissa to 3 bits, ties to even, clear the 20 low
/// bits (`normal`, the decoded magnitude's f32 bits). Subnormal range: |v|·2⁹ + 2²³ rounds |v|·2⁹
/// to an integer k, ties to even (|v|·2⁹ < 8), and its bits are 0x4B00_0000 + k (`shifted`).
@inline(__always)
func e4m3Parts(_ v: SIMD8<Float>) -> (normal: SIMD8<UInt32>, shifted: SIMD8<Float>, isNormal: SIMD8<UInt32>, sign: SIMD8<UInt32>) {
    let bits = unsafeBitCast(v, to: SIMD8<UInt32>.self)
    let magnitude = bits & 0x7FFF_FFFF
    let over = above(magnitude, 0x43E0_0000)   // 448's bits
    let u = (magnitude & ~over) | (0x43E0_0000 & over)
    let normal = (u &+ 0x7FFFF &+ ((u &>> 20) & 1)) & 0xFFF0_0000
    let shifted = unsafeBitCast(u, to: SIMD8<Float>.self) * 0x1p9 + 0x1p23
    return (normal, shifted, above(u, 0x3C7F_FFFF), bits & 0x8000_0000)   // 2⁻⁶'s bits are 0x3C80_0000
}

/// decode(encode(min(max(v, −448), 448))) per lane, in f32; the sign is v's, so −0 stays −0.
/// A NaN lane comes out as ±448 instead of NaN (callers only pair it with its NaN weight).
@inline(__always)
func e4m3ClampRoundTrip(_ v: SIMD8<Float>) -> SIMD8<Float> {
    let p = e4m3Parts(v)
    let sub = unsafeBitCast((p.shifted - 0x1p23) * 0x1p-9, to: SIMD8<UInt32>.self)
    return unsafeBitCast((p.normal & p.isNormal) | (sub & ~p.isNormal) | p.sign, to: SIMD8<Float>.self)
}

/// `E4M3.encode(min(max(v, −448), 448))` per lane (NaN → 0x7F), in the low byte of each lane.
@inline(__always)
func e4m3ClampEncode(_ v: SIMD8<Float>) -> SIMD8<UInt32> {
    let p = e4m3Parts(v)
    let normal = (p.normal &>> 20) &- (120 << 3)   // rebias the exponent: (e − 127 + 7) << 3 | mantissa
    let sub = unsafeBitCast(p.shifted, to: SIMD8<UInt32>.self) &- 0x4B00_0000
    let code = (normal & p.isNormal) | (sub & ~p.isNormal) | (p.sign &>> 24)
    let nan = above(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, 0x7F80_0000)
    return (code & ~nan) | (0x7F & nan)
}

/// All ones in the lanes where u > c, zero elsewhere (u, c < 2³¹).
@inline(__always)
func above(_ u: SIMD8<UInt32>, _ c: UInt32) -> SIMD8<UInt32> {
    unsafeBitCast(unsafeBitCast(SIMD8<UInt32>(repeating: c) &- u, to: SIMD8<Int32>.self) &>> 31, to: SIMD8<UInt32>.self)
}
