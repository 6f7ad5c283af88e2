import StrataKernels

/// Weights of one decoder layer (Llama / Qwen2): pre-norm attention and SwiGLU MLP.
public final class DecoderLayer: @unchecked Sendable {
    public let index: Int
    public let attentionNorm: [Float]       // (hidden,)
    public let mlpNorm: [Float]             // (hidden,)
    public let q: LinearWeight              // (heads·hd, hidden)
    public let k: LinearWeight              // (kvHeads·hd, hidden)
    public let v: LinearWeight              // (kvHeads·hd, hidden)
    public let o: LinearWeight              // (hidden, heads·hd)
    public let qBias: [Float]?, kBias: [Float]?, vBias: [Float]?
    public let gate: LinearWeight           // (ffn, hidden)
    public let up: LinearWeight             // (ffn, hidden)
    public let down: LinearWeight           // (hidden, ffn)

    public init(index: Int, attentionNorm: [Float], mlpNorm: [Float], q: LinearWeight, k: LinearWeight, v: LinearWeight,
                o: LinearWeight, qBias: [Float]?, kBias: [Float]?, vBias: [Float]?,
                gate: LinearWeight, up: LinearWeight, down: LinearWeight) {
        self.index = index
        self.attentionNorm = attentionNorm
        self.mlpNorm = mlpNorm
        self.q = q; self.k = k; self.v = v; self.o = o
        self.qBias = qBias; self.kBias = kBias; self.vBias = vBias
        self.gate = gate; self.up = up; self.down = down
    }

    /// Bytes of weights read per forward pass.
    public var byteCount: Int {
        [q, k, v, o, gate, up, down].reduce(0) { $0 + $1.byteCount } + (attentionNorm.count + mlpNorm.count) * 4
    }
}

/// One sequence's share of a batch: its new tokens occupy `count` consecutive rows of the hidden
/// state and positions `cache.length ..< cache.length + count`.
public struct BatchEntry {
    public let cache: KVCache
    public let count: Int
    public init(cache: KVCache, count: Int) { self.cache = cache; self.count = count }
}

extension DecoderLayer {
    /// x (T, hidden) ← x + attn(norm(x)); x ← x + mlp(norm(x)), for the T rows of `entries`.
    func forward(_ x: UnsafeMutablePointer<Float>, entries: [BatchEntry], ws: Workspace, ctx: ForwardContext) {
        let t = ws.tokens, c = ctx.config
        normRows(x, attentionNorm, rows: t, into: ws.normed, ctx)
        attention(ws, entries: entries, ctx)
        o.forward(ws.attn, batch: t, into: ws.normed, pool: ctx.pool)          // (T, heads·hd) -> (T, hidden)
        addRows(x, ws.normed, t * c.hiddenSize)
        normRows(x, mlpNorm, rows: t, into: ws.normed, ctx)
        gate.forward(ws.normed, batch: t, into: ws.gate, pool: ctx.pool)       // (T, hidden) -> (T, ffn)
        up.forward(ws.normed, batch: t, into: ws.up, pool: ctx.pool)
        siluMul(ws.gate, ws.up, count: t * c.intermediateSize)
        down.forward(ws.gate, batch: t, into: ws.normed, pool: ctx.pool)       // (T, ffn) -> (T, hidden)
        addRows(x, ws.normed, t * c.hiddenSize)
    }

    /// q, k, v projections, RoPE, cache append, then causal attention of every entry in one
    /// parallel pass -> ws.attn (T, heads·hd).
    private func attention(_ ws: Workspace, entries: [BatchEntry], _ ctx: ForwardContext) {
        let c = ctx.config, t = ws.tokens
        let qw = c.heads * c.headDim, kw = c.kvHeads * c.headDim
        q.forward(ws.normed, batch: t, into: ws.q, pool: ctx.pool)
        k.forward(ws.normed, batch: t, into: ws.k, pool: ctx.pool)
        v.forward(ws.normed, batch: t, into: ws.v, pool: ctx.pool)
        if let b = qBias { addBias(ws.q, b, rows: t) }
        if let b = kBias { addBias(ws.k, b, rows: t) }
        if let b = vBias { addBias(ws.v, b, rows: t) }
        var row = 0
        var sequences: [AttentionSequence] = []
        sequences.reserveCapacity(entries.count)
        for e in entries {
            let start = e.cache.length
            for i in 0..<e.count {
                ctx.rope.withTables(at: start + i) { cos, sin in
                    applyRotaryHalf(ws.q + (row + i) * qw, heads: c.heads, headDim: c.headDim, cos: cos, sin: sin)
                    applyRotaryHalf(ws.k + (row + i) * kw, heads: c.kvHeads, headDim: c.headDim, cos: cos, sin: sin)
                }
            }
            let keys = e.cache.keys(index), values = e.cache.values(index)
            (keys + start * kw).update(from: ws.k + row * kw, count: e.count * kw)
            (values + start * kw).update(from: ws.v + row * kw, count: e.count * kw)
            sequences.append(AttentionSequence(q: ws.q + row * qw, keys: keys, values: values, queryCount: e.count,
                                               start: start, out: ws.attn + row * qw))
            row += e.count
        }
        causalAttention(sequences, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim,
                        scale: ctx.attentionScale, pool: ctx.pool)
    }

    private func normRows(_ x: UnsafeMutablePointer<Float>, _ w: [Float], rows: Int, into out: UnsafeMutablePointer<Float>, _ ctx: ForwardContext) {
        let h = ctx.config.hiddenSize
        w.withUnsafeBufferPointer { wp in
            for r in 0..<rows { rmsNorm(x + r * h, weight: wp.baseAddress!, count: h, eps: ctx.eps, into: out + r * h) }
        }
    }
}

@inline(__always) func addRows(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { x[i] += y[i] }
}

@inline(__always) func addBias(_ x: UnsafeMutablePointer<Float>, _ b: [Float], rows: Int) {
    b.withUnsafeBufferPointer { bp in
        for r in 0..<rows { addRows(x + r * bp.count, bp.baseAddress!, bp.count) }
    }
}
