import StrataKernels

/// The whole model in one process: embedding → all layers → final norm → head → sampler.
/// The reference the distributed path must equal token for token.
public final class LocalModel: ForwardPass, @unchecked Sendable {
    public let config: ModelConfig
    public let embedding: EmbeddingTable
    public let stack: LayerStack
    public let finalNorm: [Float]
    public let head: LinearWeight
    public let pool: ThreadPool
    private var sessions: [UInt64: (cache: KVCache, sampler: Sampler)] = [:]

    public init(config: ModelConfig, embedding: EmbeddingTable, stack: LayerStack, finalNorm: [Float],
                head: LinearWeight, pool: ThreadPool) {
        self.config = config; self.embedding = embedding; self.stack = stack
        self.finalNorm = finalNorm; self.head = head; self.pool = pool
    }

    /// Loads every layer of `source` in `precision`.
    public convenience init(source: ModelSource, precision: WeightPrecision, tablePrecision: TablePrecision? = nil, threads: Int) throws {
        let pool = ThreadPool(threads: threads)
        let loader = ModelLoader(source: source, precision: precision, tablePrecision: tablePrecision, pool: pool)
        let embedding = try loader.loadEmbedding()
        self.init(config: source.config, embedding: embedding, stack: try loader.loadStack(0..<source.config.layerCount),
                  finalNorm: try loader.loadFinalNorm(), head: try loader.loadHead(sharing: embedding), pool: pool)
    }

    /// Bytes of weights resident (embedding and head counted once when tied).
    public var weightBytes: Int {
        stack.byteCount + embedding.matrix.byteCount + (head as AnyObject === embedding.matrix as AnyObject ? 0 : head.byteCount)
    }

    /// Largest KV cache a closed session held (for the memory report).
    public private(set) var peakKVCacheBytes = 0

    public func openSession(_ id: UInt64, sampling: SamplingParameters, prompt: [Int]) throws {
        guard sessions[id] == nil else { throw ForwardError.duplicateSession(id) }
        try sampling.validate()
        sessions[id] = (stack.makeCache(), Sampler(sampling, prompt: prompt))
    }

    public func closeSession(_ id: UInt64) {
        if let s = sessions.removeValue(forKey: id) { peakKVCacheBytes = max(peakKVCacheBytes, s.cache.byteCount) }
    }

    public func step(_ batch: [SequenceStep]) throws -> [SampledToken] {
        let rows = try hiddenStates(batch)  // (Σ tokens, hidden), after the final norm
        defer { rows.deallocate() }
        let h = config.hiddenSize
        var last: [Int] = []   // the last row of each sampling step
        var end = 0
        for s in batch {
            end += s.tokens.count
            if s.sample { last.append(end - 1) }
        }
        let sampling = batch.filter(\.sample)
        guard !sampling.isEmpty else { return [] }
        let picked = UnsafeMutablePointer<Float>.allocate(capacity: last.count * h)
        defer { picked.deallocate() }
        for (i, r) in last.enumerated() { (picked + i * h).update(from: rows + r * h, count: h) }
        return HeadSampling.sample(rows: picked, keys: sampling.map(\.session), topLogprobs: sampling.map(\.topLogprobs),
                                   head: head, vocab: config.vocabSize, pool: pool,
                                   sampler: { sessions[$0]!.sampler }, store: { sessions[$0]!.sampler = $1 })
    }

    /// Appends `tokens` to a session and returns the logits of every position, (count, vocab).
    /// Used by perplexity; the session's sampler is untouched.
    public func logits(session: UInt64, tokens: [Int]) throws -> [Float] {
        let rows = try hiddenStates([SequenceStep(session: session, tokens: tokens)])
        defer { rows.deallocate() }
        var out = [Float](repeating: 0, count: tokens.count * config.vocabSize)
        out.withUnsafeMutableBufferPointer { head.forward(rows, batch: tokens.count, into: $0.baseAddress!, pool: pool) }
        return out
    }

    /// Embeds, runs the stack and the final norm; the caller owns the result (T, hidden).
    private func hiddenStates(_ batch: [SequenceStep]) throws -> UnsafeMutablePointer<Float> {
        let h = config.hiddenSize
        var entries: [BatchEntry] = []
        for s in batch {
            guard let state = sessions[s.session] else { throw ForwardError.unknownSession(s.session) }
            guard !s.tokens.isEmpty else { throw ForwardError.emptyStep(s.session) }
            let positions = state.cache.length + s.tokens.count
            guard positions <= config.maxPositions else { throw ForwardError.contextOverflow(positions: positions, limit: config.maxPositions) }
            if let bad = s.tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw ForwardError.tokenOutOfRange(token: bad, vocab: config.vocabSize)
            }
            entries.append(BatchEntry(cache: state.cache, count: s.tokens.count))
        }
        let tokens = batch.flatMap(\.tokens)
        let x = UnsafeMutablePointer<Float>.allocate(capacity: tokens.count * h)
        for (i, t) in tokens.enumerated() { embedding.lookup(t, into: x + i * h) }
        stack.forward(x, entries: entries, pool: pool)
        finalNorm.withUnsafeBufferPointer { w in
            for r in 0..<tokens.count { rmsNorm(x + r * h, weight: w.baseAddress!, count: h, eps: Float(config.rmsNormEps), into: x + r * h) }
        }
        return x
    }
}
