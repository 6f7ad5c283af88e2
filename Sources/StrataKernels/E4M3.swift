/// OCP FP8 E4M3 (`float8_e4m3fn`): 1 sign, 4 exponent bits (bias 7), 3 mantissa bits,
/// max 448, no infinities, NaN only at 0x7F/0xFF.
public enum E4M3 {
    public static let max: Float = 448
}
