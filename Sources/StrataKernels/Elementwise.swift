/// The decoder's elementwise kernels through the process's variant (`Kernels.active`); the
/// implementations and their accuracy notes are in Sources/StrataKernelsShared (Activations.swift,
/// Norms.swift). Shapes in comments are row-major.

/// RMSNorm: out (n,) = x / sqrt(mean(x²) + eps) * weight. `out` may alias `x`.
public func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, count n: Int, eps: Float, into out: UnsafeMutablePointer<Float>) {
    Kernels.active.rmsNorm(x, weight, n, eps, out)
}

/// HF rotate-half RoPE on `heads` vectors of `headDim` (heads, headDim), in place; cos, sin
/// (headDim/2,) for the token's position.
public func applyRotaryHalf(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
    Kernels.active.applyRotaryHalf(x, heads, headDim, cos, sin)
}

/// In place: x[i] ← e^x[i] for i < n (≈ 2 ulp on [-87.3, 88.3]; 0 below).
public func vectorExp(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    Kernels.active.vectorExp(x, n)
}

/// log Σ e^x[i] over `n` values (n ≥ 1).
public func vectorLogSumExp(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    Kernels.active.vectorLogSumExp(x, n)
}

/// SwiGLU gate: gate (n,) ← silu(gate) · up.
public func siluMul(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int) {
    Kernels.active.siluMul(gate, up, n)
}

/// In-place softmax over `n` values.
public func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    Kernels.active.softmax(x, n)
}

/// Index of the largest value (first on ties); 0 for n ≤ 1.
public func argmax(_ x: UnsafePointer<Float>, count n: Int) -> Int {
    Kernels.active.argmax(x, n)
}
