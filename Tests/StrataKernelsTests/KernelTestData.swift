import StrataKernels

/// Deterministic random data for kernel tests (SplitMix64).
struct TestRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) * 0x1p-23 - 1 }

    mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in float() } }
}

/// A quantized random weight with block scales that differ per block (so a wrong scale shows).
func randomFP8(rows: Int, cols: Int, seed: UInt64) -> BlockScaledFP8Matrix {
    var rng = TestRandom(seed: seed)
    return BlockScaledFP8Matrix(rows: rows, cols: cols) { r0, n, out in
        for r in 0..<n {
            for c in 0..<cols {
                let blockGain = Float(1 + ((r0 + r) / 128 * 3 + c / 128) % 5)
                out[r * cols + c] = rng.float() * blockGain
            }
        }
    }
}

func randomF32(rows: Int, cols: Int, seed: UInt64) -> F32Matrix {
    var rng = TestRandom(seed: seed)
    let m = F32Matrix(rows: rows, cols: cols)
    for i in 0..<(rows * cols) { m.values[i] = rng.float() }
    return m
}

/// y (batch, rows) = forward(x (batch, cols)).
func forward(_ w: any LinearWeight, _ x: [Float], batch: Int, pool: ThreadPool) -> [Float] {
    var y = [Float](repeating: .nan, count: batch * w.rows)
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { w.forward(xp.baseAddress!, batch: batch, into: $0.baseAddress!, pool: pool) }
    }
    return y
}

/// Bit patterns, for bit-for-bit comparisons that also distinguish -0 and NaN payloads.
func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

/// The awkward sizes every kernel is checked at.
let awkwardSizes = [1, 2, 31, 32, 33, 127, 128, 129]
