import Foundation

/// Elementwise and attention kernels of the decoder. Shapes in comments are row-major.

/// RMSNorm: out (n,) = x / sqrt(mean(x²) + eps) * weight.
public func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, count n: Int, eps: Float, into out: UnsafeMutablePointer<Float>) {
    var ss: Float = 0
    for i in 0..<n { ss.addProduct(x[i], x[i]) }
    let inv = 1 / (ss / Float(n) + eps).squareRoot()
    for i in 0..<n { out[i] = x[i] * inv * weight[i] }
}

/// HF rotate-half RoPE on `heads` vectors of `headDim` (heads, headDim), in place:
/// x[i] ← x[i]·cos[i] − x[i+d/2]·sin[i];  x[i+d/2] ← x[i+d/2]·cos[i] + x[i]·sin[i], for i < d/2.
public func applyRotaryHalf(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
    let half = headDim / 2
    for h in 0..<heads {
        let v = x + h * headDim
        for i in 0..<half {
            let a = v[i], b = v[i + half]
            v[i] = a * cos[i] - b * sin[i]
            v[i + half] = b * cos[i] + a * sin[i]
        }
    }
}

/// SwiGLU gate: gate (n,) ← silu(gate) · up.
public func siluMul(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int) {
    for i in 0..<n {
        let g = gate[i]
        gate[i] = g / (1 + Foundation.exp(-g)) * up[i]
    }
}

/// In-place softmax over `n` values; returns nothing, x sums to 1.
public func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    var m = -Float.infinity
    for i in 0..<n { m = max(m, x[i]) }
    var s: Float = 0
    for i in 0..<n { x[i] = Foundation.exp(x[i] - m); s += x[i] }
    let inv = 1 / s
    for i in 0..<n { x[i] *= inv }
}

/// Index of the largest value (first on ties).
public func argmax(_ x: UnsafePointer<Float>, count n: Int) -> Int {
    var best = 0
    for i in 1..<max(n, 1) where x[i] > x[best] { best = i }
    return best
}

/// Causal grouped-query attention for `queryCount` new tokens at positions
/// `start ..< start+queryCount`, attending to cached positions `0 ... own position`.
///
///   q    (queryCount, heads, headDim)
///   keys, values (≥ start+queryCount, kvHeads, headDim)  — the layer's KV cache
///   out  (queryCount, heads, headDim)
/// Head h reads KV head h / (heads / kvHeads). The result for a token depends only on its own
/// query and the cache up to its position (batch-invariant).
public func causalAttention(
    q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
    queryCount: Int, start: Int, heads: Int, kvHeads: Int, headDim: Int, scale: Float,
    into out: UnsafeMutablePointer<Float>, pool: ThreadPool
) {
    let group = heads / kvHeads
    let kvStride = kvHeads * headDim
    pool.parallelFor(queryCount * heads) { range in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: start + queryCount)
        defer { scores.deallocate() }
        for job in range {
            let t = job / heads, h = job % heads, kvh = h / group
            let len = start + t + 1
            let qv = q + (t * heads + h) * headDim
            for p in 0..<len { scores[p] = dot(qv, keys + p * kvStride + kvh * headDim, headDim) * scale }
            softmax(scores, count: len)
            let o = out + (t * heads + h) * headDim
            for d in 0..<headDim { o[d] = 0 }
            for p in 0..<len {
                let v = values + p * kvStride + kvh * headDim
                let w = scores[p]
                for d in 0..<headDim { o[d].addProduct(w, v[d]) }
            }
        }
    }
}
