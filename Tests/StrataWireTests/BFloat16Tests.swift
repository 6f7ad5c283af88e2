import StrataWire
import Testing

/// bf16 conversion against an independent reference: the nearer of the two bf16 neighbours,
/// compared in Double, ties to the even one.
struct BFloat16Tests {
    static func reference(_ x: Float) -> UInt16 {
        if x.isNaN { return 0x7FC0 }
        let b = x.bitPattern
        let down = UInt16(b >> 16)
        if b & 0xFFFF == 0 { return down }
        let up = down &+ 1  // next bf16 away from zero (carries into the exponent correctly)
        let lo = Double(BFloat16.float(fromBits: down)), hi = Double(BFloat16.float(fromBits: up))
        let dLo = abs(Double(x) - lo)
        // The step past the largest finite bf16 is infinity; measure it as the would-be next value.
        let dHi = hi.isInfinite ? abs(Double(x) - (lo + (lo - Double(BFloat16.float(fromBits: down &- 1))))) : abs(Double(x) - hi)
        if dLo < dHi { return down }
        if dHi < dLo { return up }
        return down & 1 == 0 ? down : up
    }

    @Test func knownValues() {
        #expect(BFloat16.bits(from: 1.0) == 0x3F80)
        #expect(BFloat16.bits(from: -2.0) == 0xC000)
        #expect(BFloat16.bits(from: 0.0) == 0x0000)
        #expect(BFloat16.bits(from: -0.0) == 0x8000)
        #expect(BFloat16.bits(from: .infinity) == 0x7F80)
        #expect(BFloat16.bits(from: -.infinity) == 0xFF80)
        // Ties: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 → even (1.0);
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6 → even (1 + 2^-6).
        #expect(BFloat16.bits(from: Float(bitPattern: 0x3F80_8000)) == 0x3F80)
        #expect(BFloat16.bits(from: Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        #expect(BFloat16.bits(from: Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        // Largest finite f32 rounds to infinity; a NaN with only low payload bits stays NaN.
        #expect(BFloat16.bits(from: .greatestFiniteMagnitude) == 0x7F80)
        #expect(BFloat16.float(fromBits: BFloat16.bits(from: Float(bitPattern: 0x7F80_0001))).isNaN)
    }

    @Test func everyBF16WidensAndNarrowsBack() {
        for bits in 0...UInt16.max {
            let f = BFloat16.float(fromBits: bits)
            if f.isNaN { #expect(BFloat16.bits(from: f) & 0x7FC0 == 0x7FC0); continue }
            #expect(BFloat16.bits(from: f) == bits)
        }
    }

    @Test func randomFloatsMatchReference() {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<200_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            let got = BFloat16.bits(from: x), want = Self.reference(x)
            if x.isNaN { #expect(BFloat16.float(fromBits: got).isNaN); continue }
            if got != want { Issue.record("\(x) (\(x.bitPattern)): got \(got) want \(want)"); return }
        }
    }
}

/// A small deterministic generator for tests (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
