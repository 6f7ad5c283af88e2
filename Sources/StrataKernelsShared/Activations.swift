import StrataKernelViews

/// Elementwise kernels: exp, SwiGLU, softmax, argmax. Shapes in comments are row-major.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// e^x for 8 lanes, within ≈2 ulp of the correctly rounded result for x in [-87.3, 88.3]
/// (Cephes `expf`: Cody–Waite reduction by ln 2, degree-6 polynomial, 2^k built in the exponent
/// bits). Below -87.3 it returns 0 (no denormals); above 88.3, e^88.3 ≈ 2.1e38; NaN stays NaN.
@inline(__always)
func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let hi = SIMD8<Float>(repeating: 88.3), lo = SIMD8<Float>(repeating: -87.3)
    let v = x.replacing(with: hi, where: x .> hi).replacing(with: lo, where: x .< lo)
    // k = round(v / ln 2) via the 1.5·2^23 trick: its integer sits in the low mantissa bits.
    let magic = SIMD8<Float>(repeating: 12582912)
    let shifted = magic.addingProduct(v, SIMD8(repeating: 1.44269504088896341))
    let k = shifted - magic
    var r = v.addingProduct(k, SIMD8(repeating: -0.693359375))
    r = r.addingProduct(k, SIMD8(repeating: 2.12194440e-4))
    var p = SIMD8<Float>(repeating: 1.3981999507e-3).addingProduct(SIMD8(repeating: 1.9875691500e-4), r)
    p = SIMD8(repeating: 8.3334519073e-3).addingProduct(p, r)
    p = SIMD8(repeating: 4.1665795894e-2).addingProduct(p, r)
    p = SIMD8(repeating: 1.6666665459e-1).addingProduct(p, r)
    p = SIMD8(repeating: 5.0000001201e-1).addingProduct(p, r)
    let y = (r + 1).addingProduct(p, r * r)
    var bits = SIMD8<UInt32>()
    for i in 0..<8 { bits[i] = shifted[i].bitPattern }
    bits = (bits &- magic[0].bitPattern &+ 127) &<< 23
    var scale = SIMD8<Float>()
    for i in 0..<8 { scale[i] = Float(bitPattern: bits[i]) }
    return (y * scale).replacing(with: 0, where: x .< lo)
}

/// In place: x[i] ← e^x[i] for i < n, with the accuracy of `exp8`.
func vectorExp(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    var i = 0
    while i &+ 8 <= n {
        storeLanes(exp8(lanes(x + i)), x + i)
        i &+= 8
    }
    if i < n {
        let e = exp8(lanesPartial(x + i, n &- i))
        for k in 0..<(n &- i) { x[i &+ k] = e[k] }
    }
}

/// log Σ e^x[i] over `n` values (n ≥ 1), with the accuracy of `exp8`: max, then 8-lane sums of
/// e^(x − max). The sampler's per-token normalizer (a 100k-entry vocab in ≈ 30 µs).
func vectorLogSumExp(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    let m = maxValue(x, count: n)
    guard m.isFinite else { return m }
    let mv = SIMD8(repeating: m)
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
    var i = 0
    while i &+ 16 <= n {
        s0 += exp8(lanes(x + i) - mv)
        s1 += exp8(lanes(x + (i &+ 8)) - mv)
        i &+= 16
    }
    var total = laneSum(s0 + s1)
    while i < n { total += exp8(SIMD8(repeating: x[i]) - mv)[0]; i &+= 1 }
    return m + log(total)
}

/// SwiGLU gate: gate (n,) ← silu(gate) · up = gate / (1 + e^−gate) · up.
func siluMul(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int) {
    var i = 0
    while i &+ 8 <= n {
        let g = lanes(gate + i)
        storeLanes(g / (1 + exp8(-g)) * lanes(up + i), gate + i)
        i &+= 8
    }
    while i < n {
        let g = SIMD8<Float>(repeating: gate[i])
        gate[i] = (g / (1 + exp8(-g)))[0] * up[i]
        i &+= 1
    }
}

/// In-place softmax over `n` values: x ← e^(x − max) / Σ e^(x − max).
func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    let m = SIMD8(repeating: maxValue(x, count: n))
    var s = SIMD8<Float>()
    var i = 0
    while i &+ 8 <= n {
        let e = exp8(lanes(x + i) - m)
        storeLanes(e, x + i)
        s += e
        i &+= 8
    }
    var total = laneSum(s)
    while i < n {
        let e = exp8(SIMD8(repeating: x[i]) - m)[0]
        x[i] = e
        total += e
        i &+= 1
    }
    let inv = SIMD8(repeating: 1 / total)
    i = 0
    while i &+ 8 <= n { storeLanes(lanes(x + i) * inv, x + i); i &+= 8 }
    while i < n { x[i] *= inv[0]; i &+= 1 }
}

/// Largest of n ≥ 1 values (NaNs ignored unless all are NaN). Compare-and-blend instead of
/// `pointwiseMax`/`max()`, whose IEEE NaN handling compiles to a scalar loop.
@inline(__always)
func maxValue(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    var m = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    while i &+ 8 <= n {
        let v = lanes(x + i)
        m = m.replacing(with: v, where: v .> m)
        i &+= 8
    }
    var best = -Float.infinity
    for k in 0..<8 where m[k] > best { best = m[k] }
    while i < n { if x[i] > best { best = x[i] }; i &+= 1 }
    if best == -.infinity, n > 0, x[0].isNaN { return x[0] }
    return best
}

/// Index of the largest value (first on ties); 0 for n ≤ 1.
func argmax(_ x: UnsafePointer<Float>, count n: Int) -> Int {
    guard n > 1 else { return 0 }
    let best = maxValue(x, count: n)
    for i in 0..<n where x[i] == best { return i }
    return 0
}
