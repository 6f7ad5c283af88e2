import StrataKernelViews

/// Causal grouped-query attention over an f32 KV cache: the per-(token, KV heads) job of
/// StrataKernels' `causalAttention`.

/// One token × KV heads `kv`: their query heads h0 ..< h0 + kv.count·group.
///   scores (kv.count·group, len) scratch; out rows (heads, headDim) of the token.
@inline(__always)
func attend(
    _ s: AttentionShape, token t: Int, kvHeads kv: Range<Int>, q: UnsafePointer<Float>,
    keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
    scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
) {
    let len = s.start &+ t &+ 1
    let h0 = kv.lowerBound &* s.group, n = kv.count &* s.group
    let qt = q + (t &* s.heads &+ h0) &* s.headDim
    // scores[h, p] = (q_h · k_p) · scale, positions in order
    for p in 0..<len {
        let kRow = keys + (p &* s.kvStride &+ kv.lowerBound &* s.headDim)
        for i in 0..<kv.count {
            scoreGroup(qt + i &* s.group &* s.headDim, kRow + i &* s.headDim, s, into: scores + (i &* s.group &* len &+ p), stride: len)
        }
    }
    for h in 0..<n { softmax(scores + h &* len, count: len) }
    // out_h = Σ_p scores[h, p] · v_p, p ascending
    let o = out + (t &* s.heads &+ h0) &* s.headDim
    o.update(repeating: 0, count: n &* s.headDim)
    for p in 0..<len {
        let vRow = values + (p &* s.kvStride &+ kv.lowerBound &* s.headDim)
        for h in 0..<n { axpy(scores[h &* len &+ p], vRow + (h / s.group) &* s.headDim, o + h &* s.headDim, count: s.headDim) }
    }
}

/// out[g·stride] = (q_g · k) · scale for the `group` query heads q (group, headDim) of one KV head;
/// four heads at a time share each K load.
@inline(__always)
func scoreGroup(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ s: AttentionShape, into out: UnsafeMutablePointer<Float>, stride: Int) {
    var g = 0
    while g &+ 4 <= s.group {
        let d = dots4(q + g &* s.headDim, k, headDim: s.headDim)
        let row = out + g &* stride
        row[0] = laneSum(d.0) * s.scale; row[stride] = laneSum(d.1) * s.scale
        row[2 &* stride] = laneSum(d.2) * s.scale; row[3 &* stride] = laneSum(d.3) * s.scale
        g &+= 4
    }
    while g < s.group {
        out[g &* stride] = laneSum(micro1x1(q + g &* s.headDim, k, width: s.headDim)) * s.scale
        g &+= 1
    }
}

/// Lane accumulators of q_i · k for 4 consecutive query heads q (4, headDim): per head the same
/// fma chain as `micro1x1(q_i, k)` (4 independent chains instead of 1 latency-bound one).
@inline(__always)
func dots4(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, headDim n: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    let q0 = q, q1 = q + n, q2 = q1 + n, q3 = q2 + n
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var j = 0
    while j &+ 8 <= n {
        let kv = lanes(k + j)
        a0.addProduct(lanes(q0 + j), kv); a1.addProduct(lanes(q1 + j), kv)
        a2.addProduct(lanes(q2 + j), kv); a3.addProduct(lanes(q3 + j), kv)
        j &+= 8
    }
    if j < n {
        let kv = lanesPartial(k + j, n &- j)
        a0.addProduct(lanesPartial(q0 + j, n &- j), kv); a1.addProduct(lanesPartial(q1 + j, n &- j), kv)
        a2.addProduct(lanesPartial(q2 + j, n &- j), kv); a3.addProduct(lanesPartial(q3 + j, n &- j), kv)
    }
    return (a0, a1, a2, a3)
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
