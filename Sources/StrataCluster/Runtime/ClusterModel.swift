import Foundation
import StrataModel
import StrataWire

/// The cluster behind the one forward-pass interface: `Generator` (and later the server) drives
/// it exactly as it drives `LocalModel`. Each step becomes one Batch through the ring; calls from
/// several threads put several batches in flight, so every stage works at once.
///
/// It keeps every session's tokens (prompt and generated), which is what recovery from a lost
/// worker needs to re-prefill a sequence on a new plan.
public final class ClusterModel: ForwardPass, @unchecked Sendable {
    public let coordinator: Coordinator
    public var config: ModelConfig { coordinator.model }
    private let lock = NSLock()
    private var sessions: [UInt64: Session] = [:]

    struct Session {
        var sampling: SamplingParameters
        var prompt: [Int]
        /// Tokens in the workers' KV caches, in order.
        var tokens: [Int] = []
        var started = false
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
        var batch = Strata_V1_Batch()
        batch.batchID = coordinator.makeBatchID()
        lock.lock()
        do {
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
                e.firstPosition = UInt32(state.tokens.count)
                e.tokenCount = UInt32(s.tokens.count)
                e.sampling = PipelineWire.params(state.sampling)
                var ops: [Strata_V1_KVOp] = []
                if !state.started {
                    ops.append(Strata_V1_KVOp.with { $0.start = .init() })
                    e.history = state.prompt.map { UInt32($0) }
                }
                ops.append(Strata_V1_KVOp.with { $0.append = .init() })
                e.kvOps = ops
                e.sample = true
                e.topLogprobs = UInt32(s.topLogprobs)
                e.wantsLogprobs = true
                e.tokenIds = s.tokens.map { UInt32($0) }
                batch.sequences.append(e)
            }
        } catch { lock.unlock(); throw error }
        lock.unlock()
        let results = try coordinator.submit(batch)!.wait()
        let byID = Dictionary(results.sequences.map { ($0.sequenceID, $0) }, uniquingKeysWith: { a, _ in a })
        lock.lock(); defer { lock.unlock() }
        return try steps.map { s in
            guard let r = byID[s.session] else {
                throw ClusterError.protocolViolation("results of batch \(batch.batchID) lack session \(s.session)")
            }
            sessions[s.session]?.started = true
            sessions[s.session]?.tokens += s.tokens
            return PipelineWire.sampled(r)
        }
    }

    public func closeSession(_ id: UInt64) {
        lock.lock()
        let state = sessions.removeValue(forKey: id)
        lock.unlock()
        guard let state, state.started else { return }
        var e = Strata_V1_SequenceEntry()
        e.sequenceID = id
        e.kvOps = [Strata_V1_KVOp.with { $0.free = .init() }]
        var b = Strata_V1_Batch()
        b.batchID = coordinator.makeBatchID()
        b.sequences = [e]
        _ = try? coordinator.submit(b, awaitResult: false)
    }
}
