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
/// token so far plus the step's new ones, the sampler replaying what it sampled), so the caller
/// only sees a slower step: batch-invariant kernels make the re-prefilled cache, and so the next
/// token, bit-identical to the lost one.
/// A re-shard that moves the caches between workers keeps the generation: nothing re-runs.
public final class ClusterModel: ForwardPass, @unchecked Sendable {
    public let coordinator: Coordinator
    public var config: ModelConfig { coordinator.model }
    private let lock = NSLock()
    private var sessions: [UInt64: Session] = [:]
    /// Steps that had to be re-run on a new plan (for logs and tests).
    public private(set) var retriedSteps = 0

    struct Session {
        var sampling: SamplingParameters
        var prompt: [Int]
        /// Tokens in the workers' KV caches, in order.
        var tokens: [Int] = []
        /// The plan generation its KV cache lives in; nil before its first step.
        var generation: Int?
    }

    public init(coordinator: Coordinator) { self.coordinator = coordinator }

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
        while true {
            let generation = try coordinator.waitUntilReady()
            let batch = try makeBatch(steps, generation: generation)
            let results: Strata_V1_Results
            do {
                results = try coordinator.submit(batch, generation: generation)!.wait()
            } catch ClusterError.planChanged, ClusterError.workerLost {
                lock.lock(); retriedSteps += 1; lock.unlock()
                continue
            }
            let byID = Dictionary(results.sequences.map { ($0.sequenceID, $0) }, uniquingKeysWith: { a, _ in a })
            lock.lock(); defer { lock.unlock() }
            return try steps.map { s in
                guard let r = byID[s.session] else {
                    throw ClusterError.protocolViolation("results of batch \(batch.batchID) lack session \(s.session)")
                }
                sessions[s.session]?.generation = generation
                sessions[s.session]?.tokens += s.tokens
                return PipelineWire.sampled(r)
            }
        }
    }

    /// The Batch of `steps` under plan `generation`: a session whose cache lives in another (or
    /// no) generation starts over with every token it has, and its sampler resumes.
    private func makeBatch(_ steps: [SequenceStep], generation: Int) throws -> Strata_V1_Batch {
        var batch = Strata_V1_Batch()
        batch.batchID = coordinator.makeBatchID()
        lock.lock(); defer { lock.unlock() }
        for s in steps {
            guard let state = sessions[s.session] else { throw ForwardError.unknownSession(s.session) }
            guard !s.tokens.isEmpty else { throw ForwardError.emptyStep(s.session) }
            if let bad = s.tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw ForwardError.tokenOutOfRange(token: bad, vocab: config.vocabSize)
            }
            let end = state.tokens.count + s.tokens.count
            guard end <= config.maxPositions else { throw ForwardError.contextOverflow(positions: end, limit: config.maxPositions) }
            var e = Strata_V1_SequenceEntry()
            e.sequenceID = s.session
            e.sampling = PipelineWire.params(state.sampling)
            var ops: [Strata_V1_KVOp] = []
            if state.generation == generation {
                e.firstPosition = UInt32(state.tokens.count)
                e.tokenIds = s.tokens.map { UInt32($0) }
            } else {
                // A cache the stages still hold (a re-shard that could not move every cache)
                // is dropped first; free is idempotent.
                if state.generation != nil { ops.append(Strata_V1_KVOp.with { $0.free = .init() }) }
                ops.append(Strata_V1_KVOp.with { $0.start = .init() })
                let all = state.tokens + s.tokens
                e.firstPosition = 0
                e.tokenIds = all.map { UInt32($0) }
                if state.generation == nil {
                    e.history = state.prompt.map { UInt32($0) }
                } else {
                    // Everything after the prompt was sampled (the last of it is this step's input).
                    e.history = all.map { UInt32($0) }
                    e.resumedSamples = UInt32(all.count - state.prompt.count)
                }
            }
            ops.append(Strata_V1_KVOp.with { $0.append = .init() })
            e.kvOps = ops
            e.tokenCount = UInt32(e.tokenIds.count)
            e.sample = true
            e.topLogprobs = UInt32(s.topLogprobs)
            e.wantsLogprobs = true
            batch.sequences.append(e)
        }
        return batch
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
