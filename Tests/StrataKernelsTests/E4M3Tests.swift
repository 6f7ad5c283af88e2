import Testing
import StrataKernels

/// Exact value of an E4M3 code computed from its bit fields in Double (independent of E4M3.decode).
func e4m3FromBitFields(_ code: UInt8) -> Double {
    let sign: Double = code >> 7 == 1 ? -1 : 1
    let e = Int(code >> 3) & 0xF, m = Double(code & 7)
    if e == 15 && code & 7 == 7 { return .nan }
    return e == 0 ? sign * m / 8 * 0x1p-6 : sign * (1 + m / 8) * Double(sign: .plus, exponent: e - 7, significand: 1)
}

@Suite struct E4M3Tests {
    @Test func everyCodeDecodesExactlyThroughTheFastPath() {
        let codes = (0..<256).map { UInt8($0) }
        var fast = [Float](repeating: 0, count: 256)
        codes.withUnsafeBufferPointer { c in
            fast.withUnsafeMutableBufferPointer { E4M3.decode(c.baseAddress!, count: 256, into: $0.baseAddress!) }
        }
        for code in codes {
            let expected = e4m3FromBitFields(code)
            if expected.isNaN {
                // NaN codes are not decoded by the fast path (documented: ±480); loaders reject them.
                #expect(fast[Int(code)] == (code & 0x80 == 0 ? 480 : -480))
                #expect(E4M3.decode(code).isNaN)
            } else {
                #expect(Double(fast[Int(code)]) == expected, "code \(code)")
                #expect(fast[Int(code)].sign == (code & 0x80 == 0 ? .plus : .minus), "sign of code \(code)")
                #expect(Double(E4M3.decode(code)) == expected, "scalar decode of code \(code)")
                #expect(Double(E4M3.table[Int(code)]) == expected)
            }
        }
    }

    @Test func fastDecodeOfRaggedCounts() {
        let codes: [UInt8] = (0..<37).map { UInt8(($0 * 7 + 3) & 0xFF) & 0xBF }
        for n in [1, 2, 7, 8, 9, 31, 37] {
            var out = [Float](repeating: .nan, count: n)
            codes.withUnsafeBufferPointer { c in
                out.withUnsafeMutableBufferPointer { E4M3.decode(c.baseAddress!, count: n, into: $0.baseAddress!) }
            }
            #expect(out == codes.prefix(n).map { E4M3.decode($0) })
        }
    }

    @Test func encodeRoundTripsEveryFiniteCode() {
        for c in 0..<256 where c & 0x7F != 0x7F {
            let code = UInt8(c)
            #expect(E4M3.encode(E4M3.decode(code)) == code, "code \(code)")
        }
    }

    @Test func encodeRoundsTiesToEven() {
        // Midpoints between neighbouring magnitudes (0x00…0x7E), both signs.
        for c in 0..<0x7E {
            let lo = E4M3.decode(UInt8(c)), hi = E4M3.decode(UInt8(c + 1))
            let mid = (lo + hi) / 2  // exact in f32
            let even = UInt8(c & 1 == 0 ? c : c + 1)
            #expect(E4M3.encode(mid) == even, "tie between \(c) and \(c + 1)")
            #expect(E4M3.encode(-mid) == 0x80 | even)
            // Just off the tie goes to the nearer code.
            #expect(E4M3.encode(mid.nextDown) == UInt8(c))
            #expect(E4M3.encode(mid.nextUp) == UInt8(c + 1))
        }
    }

    @Test func encodeSaturatesAndMapsNaN() {
        #expect(E4M3.encode(448) == 0x7E)
        #expect(E4M3.encode(464) == 0x7E)
        #expect(E4M3.encode(1e9) == 0x7E)
        #expect(E4M3.encode(-1e9) == 0xFE)
        #expect(E4M3.encode(.nan) == 0x7F)
        #expect(E4M3.encode(0x1p-12) == 0)
    }
}

@Suite struct E4M3EncoderTests {
    /// The fast encoder equals the reference on a dense sweep of f32 values in [-500, 500]
    /// (every 2^9-th bit pattern, plus every code's value and the midpoints between codes).
    @Test func fastEncoderEqualsReference() {
        var bits: UInt32 = 0, mismatches: [Float] = []
        while bits < 0x43FA_0000 {  // 500.0
            for x in [Float(bitPattern: bits), -Float(bitPattern: bits)] where E4M3.encode(x) != E4M3.encodeReference(x) {
                mismatches.append(x)
            }
            bits &+= 512
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
        let values = (0..<127).map { E4M3.decode(UInt8($0)) }
        for i in 0..<(values.count - 1) {
            for x in [values[i], (values[i] + values[i + 1]) / 2] {
                #expect(E4M3.encode(x) == E4M3.encodeReference(x), "x = \(x)")
                #expect(E4M3.encode(-x) == E4M3.encodeReference(-x), "x = \(-x)")
            }
        }
    }
}
