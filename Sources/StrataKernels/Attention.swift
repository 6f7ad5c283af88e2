/// Causal grouped-query attention over an f32 KV cache.

/// One sequence's part of a batched attention call: `queryCount` new tokens at positions
/// `start ..< start+queryCount`, attending to cached positions `0 ... own position`.
///
///   q    (queryCount, heads, headDim)
///   keys, values (≥ start+queryCount, kvHeads, headDim)  — the sequence's KV cache of the layer
///   out  (queryCount, heads, headDim)
public struct AttentionSequence {
    public let q: UnsafePointer<Float>
    public let keys: UnsafePointer<Float>
    public let values: UnsafePointer<Float>
    public let queryCount: Int
    public let start: Int
    public let out: UnsafeMutablePointer<Float>

    public init(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                queryCount: Int, start: Int, out: UnsafeMutablePointer<Float>) {
        self.q = q; self.keys = keys; self.values = values
        self.queryCount = queryCount; self.start = start; self.out = out
    }
}

/// Causal grouped-query attention for every sequence of a batch in one parallel pass.
///
/// Head h reads KV head h / (heads / kvHeads). One job is one token × a range of KV heads, walking
/// positions in order so each K/V row is read as one contiguous stretch. With fewer tokens than
/// threads (one decoding sequence) the KV heads are split over the threads; otherwise each job
/// takes all of them, and the jobs of all sequences share one dispatch (a decode batch of 8
/// sequences is 8 jobs, not 8 dispatches of 1). The operations for a (token, head) depend only on
/// its query and the cache up to its position, so a token's output is bit-identical in a prefill
/// batch, in step-by-step decode and beside any other sequences (batch-invariant).
public func causalAttention(
    _ sequences: [AttentionSequence], heads: Int, kvHeads: Int, headDim: Int, scale: Float, pool: ThreadPool
) {
    precondition(kvHeads > 0 && heads % kvHeads == 0, "heads must be a multiple of kvHeads")
    var firstToken: [Int] = []
    firstToken.reserveCapacity(sequences.count)
    var tokens = 0, longest = 0
    for s in sequences {
        firstToken.append(tokens)
        tokens += s.queryCount
        longest = max(longest, s.start + s.queryCount)
    }
    guard tokens > 0 else { return }
    let chunks = tokens >= pool.threads ? 1 : min(kvHeads, pool.threads)
    let kvRanges = ThreadPool.partition(kvHeads, parts: chunks)
    let kernels = pool.kernels
    pool.parallelFor(tokens * kvRanges.count) { range in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: heads * longest)
        defer { scores.deallocate() }
        var s = 0
        for job in range {
            let token = job / kvRanges.count
            while token >= firstToken[s] + sequences[s].queryCount { s += 1 }
            let seq = sequences[s]
            let shape = AttentionShape(start: seq.start, heads: heads, kvHeads: kvHeads, headDim: headDim,
                                       group: heads / kvHeads, scale: scale)
            kernels.attend(shape, token - firstToken[s], kvRanges[job % kvRanges.count], seq.q,
                           seq.keys, seq.values, scores, seq.out)
        }
    }
}

/// Causal grouped-query attention of one sequence (see `AttentionSequence` for the shapes).
public func causalAttention(
    q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
    queryCount: Int, start: Int, heads: Int, kvHeads: Int, headDim: Int, scale: Float,
    into out: UnsafeMutablePointer<Float>, pool: ThreadPool
) {
    causalAttention([AttentionSequence(q: q, keys: keys, values: values, queryCount: queryCount, start: start, out: out)],
                    heads: heads, kvHeads: kvHeads, headDim: headDim, scale: scale, pool: pool)
}
