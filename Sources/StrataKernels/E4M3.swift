/// OCP FP8 E4M3 (`float8_e4m3fn`): 1 sign, 4 exponent bits (bias 7), 3 mantissa bits,
/// max 448, no infinities, NaN only at 0x7F/0xFF.
public enum E4M3 {
    /// Largest finite magnitude.
    public static let max: Float = 448

    /// Scalar reference decode: exact value of a code (NaN for 0x7F/0xFF).
    public static func decode(_ code: UInt8) -> Float {
        let sign: Float = code & 0x80 != 0 ? -1 : 1
        let e = Int((code >> 3) & 0x0F)
        let m = Float(code & 0x07)
        if e == 15 && code & 0x07 == 7 { return .nan }
        if e == 0 { return sign * m * 0x1p-9 }
        return sign * (1 + m / 8) * Float(sign: .plus, exponent: e - 7, significand: 1)
    }

    /// Rounds to the nearest code (ties to even), saturating to ±448. NaN maps to 0x7F.
    public static func encode(_ x: Float) -> UInt8 {
        if x.isNaN { return 0x7F }
        let sign = UInt8(truncatingIfNeeded: x.bitPattern >> 24) & 0x80
        let a = Swift.min(abs(x), max)
        if a < 0x1p-6 {
            // Subnormal codes: multiples of 2^-9 (rounding 7.5·2^-9 up gives 8, code 0x08 = 2^-6).
            return sign | UInt8((a * 0x1p9).rounded(.toNearestOrEven))
        }
        // Normal: round the f32 mantissa to 3 bits, ties to even, then rebias the exponent.
        var u = a.bitPattern
        u &+= 0x7FFFF &+ ((u >> 20) & 1)
        let e = Int(u >> 23) - 127 + 7
        return sign | UInt8(e << 3) | UInt8((u >> 20) & 7)
    }

    /// Reference encoder (slow, obviously correct): the nearest multiple of the quantum at the
    /// value's magnitude, ties to even, saturating to ±448. `encode` must agree with it everywhere.
    public static func encodeReference(_ x: Float) -> UInt8 {
        if x.isNaN { return 0x7F }
        let sign: UInt8 = x.sign == .minus ? 0x80 : 0
        let a = Swift.min(abs(x), max)
        if a < 0x1p-10 { return sign }  // below half the smallest subnormal (ties to even → 0)
        // Quantum at this magnitude: subnormal/first binade step 2^-9, else 2^(e-3).
        let e = Swift.max(a.exponent, -6)
        let quantum = Float(sign: .plus, exponent: Int(e) - 3, significand: 1)
        let q = (a / quantum).rounded(.toNearestOrEven) * quantum
        return sign | magnitudeCode(q)
    }

    /// Code of an exactly representable non-negative value.
    @inline(__always)
    static func magnitudeCode(_ v: Float) -> UInt8 {
        if v == 0 { return 0 }
        if v < 0x1p-6 { return UInt8(v / 0x1p-9) }
        let e = Int(v.exponent)
        let m = UInt8((v / Float(sign: .plus, exponent: e, significand: 1) - 1) * 8)
        return UInt8(e + 7) << 3 | m
    }

    /// Fast decode of `count` codes through the kernels' path (fake f16 → f32 in hardware, ×256),
    /// exact for every finite code; the NaN codes 0x7F/0xFF read as ±480 (see `e4m3Lanes`).
    public static func decode(_ codes: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutablePointer<Float>) {
        var i = 0
        while i &+ 8 <= count {
            storeLanes(e4m3Lanes(codes + i) * 256, out + i)
            i &+= 8
        }
        if i < count {
            let v = e4m3LanesPartial(codes + i, count &- i) * 256
            for k in 0..<(count &- i) { out[i &+ k] = v[k] }
        }
    }

    /// Decode table of all 256 codes.
    public static let table: [Float] = (0..<256).map { decode(UInt8($0)) }
}
