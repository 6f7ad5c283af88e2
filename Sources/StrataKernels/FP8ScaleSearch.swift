/// Per-block scale search of the FP8 quantizer (`BlockScaledFP8Matrix.init(…quantizing:)`).
///
/// For a block with amax > 0 and base = amax/448 (f32), the candidates are
/// s_k = base · (1 + k/128), k = 0…16, tried in ascending order; the block takes the s_k with the
/// smallest squared reconstruction error Σ (decode(encode(clamp(x / s_k, ±448))) · s_k − x)²
/// (strict `<`, so a tie keeps the smaller scale). An all-zero block keeps scale 1.
///
/// Why not just amax/448: with a 3-bit mantissa, which way each weight rounds is a deterministic
/// draw of rounding noise, and amax/448 is one draw among equally principled ones (on
/// SmolLM2-135M it flips the first token of a prompt whose margin is 0.3 logit, about 1.7σ of
/// the FP8 noise there). The MSE-best candidate lowers the weight error (−2.6% in total squared
/// error on SmolLM2), and since every s_k ≥ amax/448, amax maps to ≤ 448: nothing is clipped.
/// The stored format is unchanged (one f32 multiplier per 128×128 block), and FP8 checkpoints,
/// already quantized, pass through as they are.
///
/// The error sum has a canonical order, shared by the fast path and the scalar reference so that
/// both pick the same scale bit for bit: element (r, c) of the block adds d² to lane c mod 8 of
/// eight f64 accumulators, d = f64(q) − f64(x) with q = decode(code) · s_k in f32, rows and
/// columns in order; the lanes are then summed in the fixed tree of `laneSum`.
extension BlockScaledFP8Matrix {
    /// Candidates above base: s_k = base · (1 + k/128), k = 0…scaleSearchSteps.
    public static let scaleSearchSteps = 16

    /// Scale of a block (rows × cols floats, rows `stride` apart) by the search above.
    /// Fast path: 8-lane trial encode; equals `referenceBlockScale` bit for bit.
    public static func blockScale(_ x: UnsafePointer<Float>, rows: Int, cols: Int, stride: Int) -> Float {
        let amax = blockAbsMax(x, rows: rows, cols: cols, stride: stride)
        guard amax > 0 else { return 1 }
        let base = amax / E4M3.max
        var best = (err: Double.infinity, scale: base)
        for k in 0...scaleSearchSteps {
            let s = base * (1 + Float(k) / 128)
            let err = trialError(x, rows: rows, cols: cols, stride: stride, scale: s)
            if err < best.err { best = (err, s) }
        }
        return best.scale
    }

    /// Scalar reference of `blockScale`: the search written out with the scalar encoder and the
    /// decode table (see the type's comment for the order of the error sum).
    public static func referenceBlockScale(_ x: UnsafePointer<Float>, rows: Int, cols: Int, stride: Int) -> Float {
        var amax: Float = 0
        for r in 0..<rows { for c in 0..<cols { amax = Swift.max(amax, abs(x[r * stride + c])) } }
        guard amax > 0 else { return 1 }
        let base = amax / E4M3.max
        var best = (err: Double.infinity, scale: base)
        for k in 0...scaleSearchSteps {
            let s = base * (1 + Float(k) / 128)
            var lane = [Double](repeating: 0, count: 8)
            for r in 0..<rows {
                for c in 0..<cols {
                    let w = x[r * stride + c]
                    let v = Swift.min(Swift.max(w / s, -E4M3.max), E4M3.max)
                    let d = Double(E4M3.table[Int(E4M3.encode(v))] * s) - Double(w)
                    lane[c % 8] += d * d
                }
            }
            let err = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]))
            if err < best.err { best = (err, s) }
        }
        return best.scale
    }

    /// max |x| over the block (NaN ignored, as `Swift.max` does).
    static func blockAbsMax(_ x: UnsafePointer<Float>, rows: Int, cols: Int, stride: Int) -> Float {
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
        return m.max()
    }

    /// Σ d² of the block at scale `s`, in the canonical order: lane j of `acc` sums the
    /// elements of columns ≡ j (mod 8), rows and columns in order.
    static func trialError(_ x: UnsafePointer<Float>, rows: Int, cols: Int, stride: Int, scale s: Float) -> Double {
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
