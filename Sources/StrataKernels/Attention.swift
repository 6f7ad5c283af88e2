/// Causal grouped-query attention over an f32 KV cache.

/// Causal grouped-query attention for `queryCount` new tokens at positions
/// `start ..< start+queryCount`, attending to cached positions `0 ... own position`.
///
///   q    (queryCount, heads, headDim)
///   keys, values (≥ start+queryCount, kvHeads, headDim)  — the layer's KV cache
///   out  (queryCount, heads, headDim)
/// Head h reads KV head h / (heads / kvHeads). One job is one (token, KV head): its `heads/kvHeads`
/// query heads share every K and V row it loads. The operations for a (token, head) depend only
/// on its query and the cache up to its position, so a token's output is bit-identical in a
/// prefill batch and in step-by-step decode (batch-invariant).
public func causalAttention(
    q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
    queryCount: Int, start: Int, heads: Int, kvHeads: Int, headDim: Int, scale: Float,
    into out: UnsafeMutablePointer<Float>, pool: ThreadPool
) {
    precondition(kvHeads > 0 && heads % kvHeads == 0, "heads must be a multiple of kvHeads")
    let group = heads / kvHeads
    let shape = AttentionShape(start: start, heads: heads, kvHeads: kvHeads, headDim: headDim, group: group, scale: scale)
    pool.parallelFor(queryCount * kvHeads) { range in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: group * (start + queryCount))
        defer { scores.deallocate() }
        for job in range {
            let t = job / kvHeads, kvh = job % kvHeads
            attendGroup(shape, token: t, kvHead: kvh, q: q, keys: keys, values: values, scores: scores, out: out)
        }
    }
}

struct AttentionShape {
    let start, heads, kvHeads, headDim, group: Int
    let scale: Float
    var kvStride: Int { kvHeads &* headDim }
}

/// One token × one KV head: its `group` query heads.
///   scores (group, len) scratch; out rows (group, headDim) of the token.
@inline(__always)
func attendGroup(
    _ s: AttentionShape, token t: Int, kvHead kvh: Int, q: UnsafePointer<Float>,
    keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
    scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
) {
    let len = s.start &+ t &+ 1
    let h0 = kvh &* s.group
    let qt = q + (t &* s.heads &+ h0) &* s.headDim
    // scores[g, p] = (q_g · k_p) · scale
    for p in 0..<len {
        let k = keys + (p &* s.kvStride &+ kvh &* s.headDim)
        for g in 0..<s.group {
            scores[g &* len &+ p] = laneSum(micro1x1(qt + g &* s.headDim, k, width: s.headDim)) * s.scale
        }
    }
    for g in 0..<s.group { softmax(scores + g &* len, count: len) }
    // out_g = Σ_p scores[g, p] · v_p, p ascending
    let o = out + (t &* s.heads &+ h0) &* s.headDim
    o.update(repeating: 0, count: s.group &* s.headDim)
    for p in 0..<len {
        let v = values + (p &* s.kvStride &+ kvh &* s.headDim)
        for g in 0..<s.group { axpy(scores[g &* len &+ p], v, o + g &* s.headDim, count: s.headDim) }
    }
}

/// y (n,) += a · x (n,), one fma per element.
@inline(__always)
func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    let va = SIMD8(repeating: a)
    var i = 0
    while i &+ 8 <= n {
        storeLanes(lanes(y + i).addingProduct(va, lanes(x + i)), y + i)
        i &+= 8
    }
    while i < n { y[i].addProduct(a, x[i]); i &+= 1 }
}
