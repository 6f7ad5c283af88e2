/// bfloat16 ↔ f32 conversion for activation frames sent over slow links.
///
/// bf16 is the top 16 bits of an f32. Narrowing rounds to nearest, ties to even, on the discarded
/// 16 bits; NaNs stay NaN (quiet bit forced so a payload in the low bits cannot become an infinity);
/// infinities and signed zeros are preserved; finite values that round past the largest bf16 become
/// infinity, as IEEE rounding requires. Widening is exact.
public enum BFloat16 {
    /// f32 → bf16 bits, round to nearest even.
    @inlinable
    public static func bits(from value: Float) -> UInt16 {
        let b = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: b >> 16) | 0x0040 }
        let lsb = (b >> 16) & 1
        let rounded = b &+ 0x7FFF &+ lsb
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// bf16 bits → f32, exact.
    @inlinable
    public static func float(fromBits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
