import StrataKernels

/// Shared, read-only state of one forward pass.
struct ForwardContext {
    let config: ModelConfig
    let rope: RopeTable
    let pool: ThreadPool
    let eps: Float
    let attentionScale: Float
}

/// Scratch activations for a batch of `tokens` rows, reused across layers and calls.
final class Workspace {
    private(set) var tokens = 0
    private var capacity = 0
    private let config: ModelConfig
    var normed: UnsafeMutablePointer<Float> = .allocate(capacity: 1)  // (T, max(hidden, ...))
    var q: UnsafeMutablePointer<Float> = .allocate(capacity: 1)       // (T, heads·hd)
    var k: UnsafeMutablePointer<Float> = .allocate(capacity: 1)       // (T, kvHeads·hd)
    var v: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    var attn: UnsafeMutablePointer<Float> = .allocate(capacity: 1)    // (T, heads·hd)
    var gate: UnsafeMutablePointer<Float> = .allocate(capacity: 1)    // (T, ffn)
    var up: UnsafeMutablePointer<Float> = .allocate(capacity: 1)

    init(config: ModelConfig) { self.config = config }
    deinit { [normed, q, k, v, attn, gate, up].forEach { $0.deallocate() } }

    func prepare(tokens t: Int) {
        tokens = t
        guard t > capacity else { return }
        [normed, q, k, v, attn, gate, up].forEach { $0.deallocate() }
        let c = config
        normed = .allocate(capacity: t * c.hiddenSize)
        q = .allocate(capacity: t * c.heads * c.headDim)
        k = .allocate(capacity: t * c.kvHeads * c.headDim)
        v = .allocate(capacity: t * c.kvHeads * c.headDim)
        attn = .allocate(capacity: t * c.heads * c.headDim)
        gate = .allocate(capacity: t * c.intermediateSize)
        up = .allocate(capacity: t * c.intermediateSize)
        capacity = t
    }
}

/// A half-open range of decoder layers: what a worker holds and what `LocalModel` runs whole.
/// Transport-blind: the same `forward` runs in one process and on every pipeline stage.
public final class LayerStack: @unchecked Sendable {
    public let config: ModelConfig
    public let layerRange: Range<Int>
    public let layers: [DecoderLayer]
    let rope: RopeTable
    private let workspace: Workspace

    public init(config: ModelConfig, layers: [DecoderLayer]) {
        precondition(!layers.isEmpty && zip(layers, layers.dropFirst()).allSatisfy { $0.index + 1 == $1.index },
                     "a layer stack holds consecutive layers")
        self.config = config
        self.layers = layers
        layerRange = layers.first!.index..<(layers.last!.index + 1)
        rope = RopeTable(config: config)
        workspace = Workspace(config: config)
    }

    /// Bytes of weights read per forward pass.
    public var byteCount: Int { layers.reduce(0) { $0 + $1.byteCount } }

    /// A fresh KV cache for one session over this stack's layers.
    public func makeCache() -> KVCache {
        KVCache(layerRange: layerRange, kvHeads: config.kvHeads, headDim: config.headDim)
    }

    /// Runs every layer over a batch.
    ///   hidden (T, hidden): rows of all entries, in entry order; updated in place.
    /// Each entry's tokens are appended to its cache (positions continue from `cache.length`).
    public func forward(_ hidden: UnsafeMutablePointer<Float>, entries: [BatchEntry], pool: ThreadPool) {
        let t = entries.reduce(0) { $0 + $1.count }
        guard t > 0 else { return }
        for e in entries {
            precondition(e.cache.layerRange == layerRange, "cache layers \(e.cache.layerRange) ≠ stack \(layerRange)")
            e.cache.reserve(e.cache.length + e.count)
            rope.reserve(e.cache.length + e.count)
        }
        workspace.prepare(tokens: t)
        let ctx = ForwardContext(config: config, rope: rope, pool: pool, eps: Float(config.rmsNormEps),
                                 attentionScale: 1 / Float(config.headDim).squareRoot())
        for layer in layers { layer.forward(hidden, entries: entries, ws: workspace, ctx: ctx) }
        for e in entries { e.cache.commit(e.count) }
    }
}
