import StrataKernels

/// An edit of one sequence's KV cache, applied by a stage before its forward pass. Every stage
/// applies the same operations to its own layers, so the caches agree along the pipeline.
public enum KVOperation: Sendable, Equatable {
    /// Begin a sequence with an empty cache. The last stage also creates its sampler, seeing
    /// `history` (the tokens before this batch) for repetition penalties; the last `resumed` of
    /// them were sampled before (a sequence re-prefilled after recovery), and the sampler replays
    /// them (`Sampler.replay`) so it continues exactly where the lost one stopped.
    case start(sampling: SamplingParameters, history: [Int], resumed: Int = 0)
    /// Append this entry's tokens (no-op marker: appending is what a forward pass with tokens does).
    case append
    /// Forget positions ≥ `length`.
    case truncate(length: Int)
    /// Copy the first `length` positions of `source`'s cache into this (new) sequence.
    case fork(source: UInt64, length: Int, sampling: SamplingParameters)
    /// Release the sequence (idempotent).
    case free
}

/// One sequence's share of a stage step.
public struct SliceEntry: Sendable {
    public var sequence: UInt64
    /// Position of the first row; must equal the cache length once `operations` are applied.
    public var firstPosition: Int
    /// Rows of this sequence in the batch (0 for an operations-only entry such as a free).
    public var tokenCount: Int
    public var operations: [KVOperation]
    /// Token ids of the rows (needed by the first stage).
    public var tokens: [Int]
    /// The last stage samples a next token from the entry's last row.
    public var sample: Bool
    public var topLogprobs: Int

    public init(sequence: UInt64, firstPosition: Int, tokenCount: Int, operations: [KVOperation] = [.append],
                tokens: [Int] = [], sample: Bool = true, topLogprobs: Int = 0) {
        self.sequence = sequence; self.firstPosition = firstPosition; self.tokenCount = tokenCount
        self.operations = operations; self.tokens = tokens; self.sample = sample; self.topLogprobs = topLogprobs
    }
}

/// Why a stage refused a step. Checked before anything is changed: a refused step leaves every
/// cache as it was.
public enum SliceError: Error, Equatable, CustomStringConvertible {
    case unknownSequence(UInt64)
    case duplicateSequence(UInt64)
    case positionMismatch(sequence: UInt64, expected: Int, found: Int)
    case tokenCountMismatch(sequence: UInt64, rows: Int, tokens: Int)
    case tokenOutOfRange(sequence: UInt64, token: Int, vocab: Int)
    case contextOverflow(sequence: UInt64, positions: Int, limit: Int)
    case badTruncate(sequence: UInt64, length: Int, cached: Int)
    case hiddenShape(expected: Int, found: Int)
    case tooManySequences(limit: Int)

    public var description: String {
        switch self {
        case let .unknownSequence(s): return "sequence \(s) has no KV cache on this stage"
        case let .duplicateSequence(s): return "sequence \(s) already started on this stage"
        case let .positionMismatch(s, e, f): return "sequence \(s): batch starts at position \(f), cache holds \(e)"
        case let .tokenCountMismatch(s, r, t): return "sequence \(s): \(r) rows but \(t) token ids"
        case let .tokenOutOfRange(s, t, v): return "sequence \(s): token id \(t) outside the vocabulary (\(v))"
        case let .contextOverflow(s, p, l): return "sequence \(s): \(p) positions exceed the context limit \(l)"
        case let .badTruncate(s, l, c): return "sequence \(s): truncate to \(l) but only \(c) positions cached"
        case let .hiddenShape(e, f): return "activations have \(f) values, expected \(e)"
        case let .tooManySequences(l): return "more than \(l) sequences open on this stage"
        }
    }
}

/// A pipeline stage's part of the model: a `LayerStack`, plus the embedding on the first stage and
/// the final norm, head and samplers on the last. Holds each sequence's KV cache for its layers.
/// Transport-blind: the worker feeds it decoded batches; `LocalModel` is the same computation whole.
public final class ModelSlice: @unchecked Sendable {
    public let config: ModelConfig
    public let stack: LayerStack
    public let embedding: EmbeddingTable?
    public let finalNorm: [Float]?
    public let head: LinearWeight?
    public let pool: ThreadPool
    /// Most sequences open at once (0 = unlimited).
    public var maxSequences: Int
    var caches: [UInt64: KVCache] = [:]
    var samplers: [UInt64: Sampler] = [:]
    private var buffer: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    private var bufferRows = 0
    private var normed: [Float] = []   // (sampled rows, hidden) after the final norm

    public var isFirst: Bool { embedding != nil }
    public var isLast: Bool { head != nil }
    public var layerRange: Range<Int> { stack.layerRange }
    public var openSequences: Int { caches.count }

    public init(config: ModelConfig, stack: LayerStack, embedding: EmbeddingTable?, finalNorm: [Float]?,
                head: LinearWeight?, pool: ThreadPool, maxSequences: Int = 0) {
        precondition((finalNorm == nil) == (head == nil), "the last stage holds both final norm and head")
        self.config = config; self.stack = stack; self.embedding = embedding
        self.finalNorm = finalNorm; self.head = head; self.pool = pool; self.maxSequences = maxSequences
    }

    deinit { buffer.deallocate() }

    /// Loads `layers` of `source`, with the embedding when `first` and final norm + head when `last`.
    /// Weights `previous` already holds (same source and precision: the caller checks) are taken
    /// over instead of loaded again — a re-plan that moves a few layers loads only those.
    public convenience init(source: ModelSource, layers: Range<Int>, first: Bool, last: Bool,
                            precision: WeightPrecision, tablePrecision: TablePrecision? = nil, pool: ThreadPool,
                            reusing previous: ModelSlice? = nil) throws {
        let loader = ModelLoader(source: source, precision: precision, tablePrecision: tablePrecision, pool: pool)
        guard !layers.isEmpty, layers.lowerBound >= 0, layers.upperBound <= source.config.layerCount else {
            throw ModelConfigError.invalid(key: "layerRange", value: "\(layers)", reason: "must lie within [0, \(source.config.layerCount))")
        }
        let embedding = first ? try previous?.embedding ?? loader.loadEmbedding() : nil
        let keptHead = previous?.isLast == true ? previous?.head : nil
        let head = last ? try keptHead ?? loader.loadHead(sharing: embedding) : nil
        let held = Dictionary((previous?.stack.layers ?? []).map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        let stack = LayerStack(config: source.config, layers: try layers.map { try held[$0] ?? loader.loadLayer($0) })
        self.init(config: source.config, stack: stack, embedding: embedding,
                  finalNorm: last ? try previous?.finalNorm ?? loader.loadFinalNorm() : nil, head: head, pool: pool)
    }

    /// Weights resident (a head tied to this stage's embedding counted once).
    public var weightBytes: Int {
        var n = stack.byteCount + (embedding?.matrix.byteCount ?? 0)
        if let head, !(embedding.map { $0.matrix as AnyObject === head as AnyObject } ?? false) { n += head.byteCount }
        return n
    }

    /// Bytes of KV cache held by open sequences.
    public var kvBytes: Int { caches.values.reduce(0) { $0 + $1.byteCount } }

    /// Rows (Σ tokenCount) a step over `entries` takes and gives.
    public static func rows(_ entries: [SliceEntry]) -> Int { entries.reduce(0) { $0 + $1.tokenCount } }

    /// Runs one step. `hidden` holds the incoming activations (rows, hidden) for a non-first stage
    /// and is ignored on the first (tokens are embedded). Returns the outgoing activations
    /// (rows, hidden) — valid until the next call — and, on the last stage, one sampled token per
    /// entry with `sample` and rows, in entry order.
    public func step(_ entries: [SliceEntry], hidden: UnsafeBufferPointer<Float>?) throws
        -> (hidden: UnsafeMutableBufferPointer<Float>, sampled: [(sequence: UInt64, token: SampledToken)]) {
        try validate(entries, hiddenCount: hidden?.count)
        for e in entries { apply(e) }
        let h = config.hiddenSize, rows = Self.rows(entries)
        if rows > bufferRows { buffer.deallocate(); buffer = .allocate(capacity: rows * h); bufferRows = rows }
        let x = buffer
        if let embedding {
            var r = 0
            for e in entries { for t in e.tokens { embedding.lookup(t, into: x + r * h); r += 1 } }
        } else if rows > 0, let hidden {
            x.update(from: hidden.baseAddress!, count: rows * h)
        }
        let batch = entries.filter { $0.tokenCount > 0 }.map { BatchEntry(cache: caches[$0.sequence]!, count: $0.tokenCount) }
        stack.forward(x, entries: batch, pool: pool)
        var sampled: [(UInt64, SampledToken)] = []
        if let head, let finalNorm {
            // Final norm of each sampling entry's last row, then one head pass over all of them.
            var picks: [SliceEntry] = []
            var end = 0
            for e in entries {
                end += e.tokenCount
                guard e.sample, e.tokenCount > 0 else { continue }
                if normed.count < (picks.count + 1) * h { normed += [Float](repeating: 0, count: h * max(1, picks.count)) }
                normed.withUnsafeMutableBufferPointer { n in
                    finalNorm.withUnsafeBufferPointer { w in
                        rmsNorm(x + (end - 1) * h, weight: w.baseAddress!, count: h, eps: Float(config.rmsNormEps),
                                into: n.baseAddress! + picks.count * h)
                    }
                }
                picks.append(e)
            }
            let tokens = normed.withUnsafeMutableBufferPointer { n in
                HeadSampling.sample(rows: n.baseAddress!, keys: picks.map(\.sequence), topLogprobs: picks.map(\.topLogprobs),
                                    head: head, vocab: config.vocabSize, pool: pool,
                                    sampler: { samplers[$0]! }, store: { samplers[$0] = $1 })
            }
            sampled = zip(picks, tokens).map { ($0.sequence, $1) }
        }
        return (UnsafeMutableBufferPointer(start: x, count: rows * h), sampled)
    }

    /// Frees every sequence (e.g. a new plan).
    public func releaseAll() { caches.removeAll(); samplers.removeAll() }

    private func release(_ s: UInt64) { caches[s] = nil; samplers[s] = nil }

    /// Checks a whole step against the current caches without changing anything.
    private func validate(_ entries: [SliceEntry], hiddenCount: Int?) throws {
        var length: [UInt64: Int] = [:]   // simulated cache lengths of touched sequences
        var open = Set(caches.keys)
        func current(_ s: UInt64) throws -> Int {
            if let l = length[s] { return l }
            guard let c = caches[s], open.contains(s) else { throw SliceError.unknownSequence(s) }
            return c.length
        }
        for e in entries {
            for op in e.operations {
                switch op {
                case .start:
                    guard !open.contains(e.sequence) else { throw SliceError.duplicateSequence(e.sequence) }
                    open.insert(e.sequence); length[e.sequence] = 0
                case .append: _ = try current(e.sequence)
                case let .truncate(l):
                    let c = try current(e.sequence)
                    guard l >= 0, l <= c else { throw SliceError.badTruncate(sequence: e.sequence, length: l, cached: c) }
                    length[e.sequence] = l
                case let .fork(source, l, _):
                    let c = try current(source)
                    guard l >= 0, l <= c else { throw SliceError.badTruncate(sequence: source, length: l, cached: c) }
                    guard !open.contains(e.sequence) else { throw SliceError.duplicateSequence(e.sequence) }
                    open.insert(e.sequence); length[e.sequence] = l
                case .free:
                    open.remove(e.sequence); length[e.sequence] = nil
                }
            }
            if e.tokenCount > 0 {
                let have = try current(e.sequence)
                guard have == e.firstPosition else {
                    throw SliceError.positionMismatch(sequence: e.sequence, expected: have, found: e.firstPosition)
                }
                let end = have + e.tokenCount
                guard end <= config.maxPositions else {
                    throw SliceError.contextOverflow(sequence: e.sequence, positions: end, limit: config.maxPositions)
                }
                length[e.sequence] = end
                if isFirst {
                    guard e.tokens.count == e.tokenCount else {
                        throw SliceError.tokenCountMismatch(sequence: e.sequence, rows: e.tokenCount, tokens: e.tokens.count)
                    }
                    if let bad = e.tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                        throw SliceError.tokenOutOfRange(sequence: e.sequence, token: bad, vocab: config.vocabSize)
                    }
                }
            }
        }
        if maxSequences > 0, open.count > maxSequences { throw SliceError.tooManySequences(limit: maxSequences) }
        if !isFirst && Self.rows(entries) > 0 {
            let expected = Self.rows(entries) * config.hiddenSize
            guard (hiddenCount ?? 0) == expected else { throw SliceError.hiddenShape(expected: expected, found: hiddenCount ?? 0) }
        }
    }

    private func apply(_ e: SliceEntry) {
        for op in e.operations {
            switch op {
            case let .start(sampling, history, resumed):
                caches[e.sequence] = stack.makeCache()
                if isLast {
                    let cut = history.count - min(max(resumed, 0), history.count)
                    var sampler = Sampler(sampling, prompt: Array(history[..<cut]))
                    sampler.replay(history[cut...])
                    samplers[e.sequence] = sampler
                }
            case .append: break
            case let .truncate(l): caches[e.sequence]!.truncate(to: l)
            case let .fork(source, l, sampling):
                let c = caches[source]!.fork()
                c.truncate(to: l)
                caches[e.sequence] = c
                if isLast { samplers[e.sequence] = Sampler(sampling) }
            case .free: release(e.sequence)
            }
        }
    }
}

/// The output head over several rows at once (its weights read once per step, not once per
/// sequence), then each row sampled by its own sampler, the rows spread over the pool's threads
/// (a sampler's work — log-sum-exp and argmax over the vocabulary — is serial per row; 8 rows
/// serially were ≈ 1 ms per step on the last stage while the other thread waited). Kernels are
/// batch-invariant and each sampler sees only its own row, so every token is the one a one-row
/// pass would sample. Rows go through the head in chunks to bound the logits buffer
/// (chunk × vocab floats).
public enum HeadSampling {
    public static let chunk = 16

    /// rows (keys.count, hidden) → row i sampled by the sampler of `keys[i]` (read with `sampler`,
    /// written back with `store`). Rows of distinct keys are sampled together; a key listed twice
    /// (allowed, though the scheduler never sends it) samples its rows one after another.
    public static func sample<Key: Hashable>(rows: UnsafeMutablePointer<Float>, keys: [Key], topLogprobs: [Int],
                                             head: LinearWeight, vocab: Int, pool: ThreadPool,
                                             sampler: (Key) -> Sampler, store: (Key, Sampler) -> Void) -> [SampledToken] {
        let h = head.cols
        let groups = Set(keys).count == keys.count ? [keys.indices] : keys.indices.map { $0..<($0 + 1) }
        var tokens: [SampledToken] = []
        tokens.reserveCapacity(keys.count)
        for g in groups {
            var samplers = keys[g].map(sampler)
            tokens += samplers.withUnsafeMutableBufferPointer { s in
                sample(rows: rows + g.lowerBound * h, samplers: s, topLogprobs: Array(topLogprobs[g]), head: head, vocab: vocab, pool: pool)
            }
            for (key, s) in zip(keys[g], samplers) { store(key, s) }
        }
        return tokens
    }

    /// rows (samplers.count, hidden) → row i sampled by `samplers[i]` with `topLogprobs[i]`.
    /// Every sampler must be a distinct value (it is mutated from the thread that samples its row).
    public static func sample(rows: UnsafeMutablePointer<Float>, samplers: UnsafeMutableBufferPointer<Sampler>, topLogprobs: [Int],
                              head: LinearWeight, vocab: Int, pool: ThreadPool) -> [SampledToken] {
        let count = samplers.count
        precondition(topLogprobs.count == count, "one topLogprobs per sampler")
        guard count > 0 else { return [] }
        let h = head.cols
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: min(count, chunk) * vocab)
        defer { logits.deallocate() }
        var out = [SampledToken](repeating: SampledToken(token: 0, logprob: 0), count: count)
        out.withUnsafeMutableBufferPointer { o in
            var start = 0
            while start < count {
                let n = min(chunk, count - start)
                head.forward(rows + start * h, batch: n, into: logits, pool: pool)   // (n, hidden) -> (n, vocab)
                let base = start
                pool.parallelFor(n) { range in
                    for r in range {
                        o[base + r] = samplers[base + r].sample(logits + r * vocab, count: vocab, topLogprobs: topLogprobs[base + r])
                    }
                }
                start += n
            }
        }
        return out
    }
}
