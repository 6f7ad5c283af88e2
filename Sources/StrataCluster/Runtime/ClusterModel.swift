import Foundation
import StrataModel
import StrataWire

/// The cluster behind the one forward-pass interface: `Generator` (and later the server) drives
/// it exactly as it drives `LocalModel`. Each step becomes one Batch through the ring; calls from
/// several threads put several batches in flight, so every stage works at once.
///
/// It keeps every session's tokens (prompt and generated). When the coordinator changes its plan
/// (a worker lost or back), a step in flight fails with `workerLost`/`planChanged`; the step then
/// waits for the new plan and re-prefills each of its sessions from those tokens (KV start, every
/// token so far, the sampler replaying what it sampled), so the caller only sees a slower step:
/// batch-invariant kernels make the re-prefilled cache, and so the next token, bit-identical to
/// the lost one. The re-prefill runs as batches of at most `maxStepTokens` rows that sample
/// nothing (chunked, like the scheduler's prefill), then the step itself: recovery never sends
/// one giant batch, so every stage's step stays as short as in normal serving.
/// A re-shard that moves the caches between workers keeps the generation: nothing re-runs.
public final class ClusterModel: ForwardPass, @unchecked Sendable {
    public let coordinator: Coordinator
    public var config: ModelConfig { coordinator.model }
    /// Most rows of one re-prefill batch (0: no limit).
    public let maxStepTokens: Int
    private let lock = NSLock()
    private var sessions: [UInt64: Session] = [:]
    /// Steps that had to be re-run on a new plan (for logs and tests).
    public private(set) var retriedSteps = 0
    /// Rows sent again to rebuild caches lost with a plan, and the batches that carried them
    /// (for logs and tests).
    public private(set) var reprefilledTokens = 0
    public private(set) var reprefillBatches = 0

    struct Session {
        var sampling: SamplingParameters
        var prompt: [Int]
        /// Tokens accepted into the sequence, in order (prompt first, then what was sampled).
        var tokens: [Int] = []
        /// The plan generation its KV cache lives in; nil before its first batch.
        var generation: Int?
        /// How many of `tokens` that cache holds (fewer than `tokens.count` while a re-prefill
        /// is under way).
        var cached = 0

        /// The sampler's history at a (re)start before a step that brings `pending`: the prompt,
        /// or, once the sequence is past its prompt, every token including `pending` (the part
        /// after the prompt was sampled, the step's input among it, and is replayed).
        func history(pending: [Int]) -> (tokens: [Int], resumed: Int) {
            let all = tokens + pending
            return all.count > prompt.count ? (all, all.count - prompt.count) : (prompt, 0)
        }
    }

    public init(coordinator: Coordinator, maxStepTokens: Int = 0) {
        self.coordinator = coordinator
        self.maxStepTokens = maxStepTokens
    }

    /// The tokens a session has run through the pipeline so far.
    public func tokens(of session: UInt64) -> [Int]? {
        lock.lock(); defer { lock.unlock() }
        return sessions[session]?.tokens
    }

    public func openSession(_ id: UInt64, sampling: SamplingParameters, prompt: [Int]) throws {
        try sampling.validate()
        lock.lock(); defer { lock.unlock() }
        guard sessions[id] == nil else { throw ForwardError.duplicateSession(id) }
        sessions[id] = Session(sampling: sampling, prompt: prompt)
    }

    public func step(_ steps: [SequenceStep]) throws -> [SampledToken] {
        try check(steps)
        while true {
            let generation = try coordinator.waitUntilReady()
            do {
                try catchUp(steps, generation: generation)
                let batch = try makeBatch(steps, generation: generation)
                let results = try coordinator.submit(batch, generation: generation)!.wait()
                return try accept(results, of: batch, steps: steps, generation: generation)
            } catch ClusterError.planChanged, ClusterError.workerLost {
                lock.lock(); retriedSteps += 1; lock.unlock()
            }
        }
    }

    /// Refuses a step the stages would refuse, before anything is sent.
    private func check(_ steps: [SequenceStep]) throws {
        lock.lock(); defer { lock.unlock() }
        for s in steps {
            guard let state = sessions[s.session] else { throw ForwardError.unknownSession(s.session) }
            guard !s.tokens.isEmpty else { throw ForwardError.emptyStep(s.session) }
            if let bad = s.tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw ForwardError.tokenOutOfRange(token: bad, vocab: config.vocabSize)
            }
            let end = state.tokens.count + s.tokens.count
            guard end <= config.maxPositions else { throw ForwardError.contextOverflow(positions: end, limit: config.maxPositions) }
        }
    }

    /// Rebuilds, under `generation`, the caches of the steps' sessions that live in another
    /// generation (or are partly rebuilt): batches of at most `maxStepTokens` rows, sampling nothing.
    private func catchUp(_ steps: [SequenceStep], generation: Int) throws {
        while true {
            var batch = Strata_V1_Batch()
            var chunks: [(id: UInt64, count: Int)] = []
            var budget = maxStepTokens > 0 ? maxStepTokens : Int.max
            lock.lock()
            for step in steps where budget > 0 {
                let id = step.session
                guard let s = sessions[id], !s.tokens.isEmpty, s.generation != generation || s.cached < s.tokens.count else { continue }
                let restart = s.generation != generation
                let from = restart ? 0 : s.cached
                let count = min(budget, s.tokens.count - from)
                var e = entry(id, s, restart: restart, from: from, pending: step.tokens)
                e.tokenIds = s.tokens[from..<(from + count)].map { UInt32($0) }
                e.tokenCount = UInt32(count)
                e.sample = false
                batch.sequences.append(e)
                chunks.append((id, count))
                budget -= count
            }
            lock.unlock()
            guard !chunks.isEmpty else { return }
            batch.batchID = coordinator.makeBatchID()
            _ = try coordinator.submit(batch, generation: generation)!.wait()
            lock.lock()
            reprefillBatches += 1
            for (id, count) in chunks {
                guard var s = sessions[id] else { continue }
                if s.generation != generation { s.generation = generation; s.cached = 0 }
                s.cached += count
                sessions[id] = s
                reprefilledTokens += count
            }
            lock.unlock()
        }
    }

    /// One entry of a batch for session `id` whose rows start at `from`: a restart (`free` of an
    /// older cache, `start` with the sampler's history) or a plain append.
    private func entry(_ id: UInt64, _ s: Session, restart: Bool, from: Int, pending: [Int]) -> Strata_V1_SequenceEntry {
        var e = Strata_V1_SequenceEntry()
        e.sequenceID = id
        e.sampling = PipelineWire.params(s.sampling)
        e.firstPosition = UInt32(from)
        var ops: [Strata_V1_KVOp] = []
        if restart {
            // A cache the stages still hold (a re-shard that could not move every cache) is
            // dropped first; free is idempotent.
            if s.generation != nil { ops.append(Strata_V1_KVOp.with { $0.free = .init() }) }
            ops.append(Strata_V1_KVOp.with { $0.start = .init() })
            let (history, resumed) = s.history(pending: pending)
            e.history = history.map { UInt32($0) }
            e.resumedSamples = UInt32(resumed)
        }
        ops.append(Strata_V1_KVOp.with { $0.append = .init() })
        e.kvOps = ops
        return e
    }

    /// The Batch of `steps` under plan `generation` (every cache already caught up).
    private func makeBatch(_ steps: [SequenceStep], generation: Int) throws -> Strata_V1_Batch {
        var batch = Strata_V1_Batch()
        batch.batchID = coordinator.makeBatchID()
        lock.lock(); defer { lock.unlock() }
        for s in steps {
            guard let state = sessions[s.session] else { throw ForwardError.unknownSession(s.session) }
            // Only a session with nothing cached yet still starts here.
            var e = entry(s.session, state, restart: state.generation != generation, from: state.tokens.count, pending: s.tokens)
            e.tokenIds = s.tokens.map { UInt32($0) }
            e.tokenCount = UInt32(s.tokens.count)
            e.sample = s.sample
            e.topLogprobs = UInt32(s.topLogprobs)
            e.wantsLogprobs = s.sample
            batch.sequences.append(e)
        }
        return batch
    }

    /// Records the step's tokens and returns the sampled ones, in the order of sampling steps.
    private func accept(_ results: Strata_V1_Results, of batch: Strata_V1_Batch, steps: [SequenceStep],
                        generation: Int) throws -> [SampledToken] {
        let byID = Dictionary(results.sequences.map { ($0.sequenceID, $0) }, uniquingKeysWith: { a, _ in a })
        lock.lock(); defer { lock.unlock() }
        var sampled: [SampledToken] = []
        for s in steps {
            if s.sample {
                guard let r = byID[s.session] else {
                    throw ClusterError.protocolViolation("results of batch \(batch.batchID) lack session \(s.session)")
                }
                sampled.append(PipelineWire.sampled(r))
            }
            guard var state = sessions[s.session] else { continue }   // closed meanwhile
            state.generation = generation
            state.tokens += s.tokens
            state.cached = state.tokens.count
            sessions[s.session] = state
        }
        return sampled
    }

    public func closeSession(_ id: UInt64) {
        lock.lock()
        let state = sessions.removeValue(forKey: id)
        lock.unlock()
        guard let generation = state?.generation else { return }
        var e = Strata_V1_SequenceEntry()
        e.sequenceID = id
        e.kvOps = [Strata_V1_KVOp.with { $0.free = .init() }]
        var b = Strata_V1_Batch()
        b.batchID = coordinator.makeBatchID()
        b.sequences = [e]
        // Under a newer plan its cache is already gone.
        _ = try? coordinator.submit(b, awaitResult: false, generation: generation)
    }
}
