import StrataKernelViews

/// Normalization and position-encoding kernels of the decoder. Shapes in comments are row-major.

/// RMSNorm: out (n,) = x / sqrt(mean(x²) + eps) * weight. `out` may alias `x`.
func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, count n: Int, eps: Float, into out: UnsafeMutablePointer<Float>) {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    var i = 0
    while i &+ 16 <= n {
        let u = lanes(x + i), v = lanes(x + (i &+ 8))
        a0.addProduct(u, u); a1.addProduct(v, v)
        i &+= 16
    }
    var ss = laneSum(a0 + a1)
    while i < n { ss.addProduct(x[i], x[i]); i &+= 1 }
    let inv = 1 / (ss / Float(n) + eps).squareRoot()
    let vinv = SIMD8(repeating: inv)
    i = 0
    while i &+ 8 <= n {
        storeLanes(lanes(x + i) * vinv * lanes(weight + i), out + i)
        i &+= 8
    }
    while i < n { out[i] = x[i] * inv * weight[i]; i &+= 1 }
}

/// HF rotate-half RoPE on `heads` vectors of `headDim` (heads, headDim), in place:
/// x[i] ← x[i]·cos[i] − x[i+d/2]·sin[i];  x[i+d/2] ← x[i+d/2]·cos[i] + x[i]·sin[i], for i < d/2.
/// cos, sin (headDim/2,) for the token's position.
func applyRotaryHalf(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
    let half = headDim / 2
    for h in 0..<heads {
        let lo = x + h &* headDim, hi = lo + half
        var i = 0
        while i &+ 8 <= half {
            let a = lanes(lo + i), b = lanes(hi + i), c = lanes(cos + i), s = lanes(sin + i)
            storeLanes(a * c - b * s, lo + i)
            storeLanes(b * c + a * s, hi + i)
            i &+= 8
        }
        while i < half {
            let a = lo[i], b = hi[i]
            lo[i] = a * cos[i] - b * sin[i]
            hi[i] = b * cos[i] + a * sin[i]
            i &+= 1
        }
    }
}
