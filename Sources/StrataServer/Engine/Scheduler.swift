import Foundation
import Logging
import StrataModel

/// Continuous batching over a `ForwardPass` (`LocalModel` in one process, `ClusterModel` over a
/// pipeline). Requests join and leave between steps; a prompt is prefilled in the same step as
/// other sequences' decode tokens.
///
/// `lanes` batches are in flight at once: each lane is a thread that owns a disjoint set of
/// sequences and steps them as one batch, so with one lane per pipeline stage every stage computes
/// one batch while the others are in flight. A sequence stays in its lane for life (its steps are
/// strictly ordered); new sequences go to the lane with the fewest. Kernels are batch-invariant, so
/// a request's tokens never depend on what shares its batch.
///
/// Admission: at most `maxBatch` sequences run; up to `maxQueue` more wait in FIFO order; beyond
/// that `submit` throws `EngineError.queueFull`.
public final class Scheduler: TokenEngine, @unchecked Sendable {
    public let contextLength: Int
    public let lanes: Int
    public let maxBatch: Int
    public let maxQueue: Int
    private let model: ForwardPass
    private var logger: Logger
    private let condition = NSCondition()
    private var waiting: [Sequence] = []
    private var laneMembers: [[Sequence]]
    private var nextID: UInt64 = 1
    private var stopped = false
    private var failure: String?
    private var threads: [Thread] = []
    private let done = DispatchGroup()

    /// One request while it waits or runs.
    final class Sequence: @unchecked Sendable {
        let id: UInt64
        let request: TokenRequest
        let continuation: AsyncThrowingStream<TokenEvent, Error>.Continuation
        var opened = false
        var generated = 0
        var last = 0
        var cancelled = false   // guarded by the scheduler's condition

        init(id: UInt64, request: TokenRequest, continuation: AsyncThrowingStream<TokenEvent, Error>.Continuation) {
            self.id = id; self.request = request; self.continuation = continuation
        }
    }

    public init(model: ForwardPass, lanes: Int = 1, maxBatch: Int = 8, maxQueue: Int = 64, contextLength: Int? = nil,
                logger: Logger = Logger(label: "strata.scheduler")) {
        precondition(lanes >= 1 && maxBatch >= 1 && maxQueue >= 0)
        self.model = model
        self.lanes = lanes
        self.maxBatch = maxBatch
        self.maxQueue = maxQueue
        self.contextLength = min(contextLength ?? model.config.maxPositions, model.config.maxPositions)
        self.logger = logger
        laneMembers = Array(repeating: [], count: lanes)
        for lane in 0..<lanes {
            done.enter()
            let t = Thread { [self] in laneLoop(lane); done.leave() }
            t.name = "strata.scheduler.lane\(lane)"
            t.start()
            threads.append(t)
        }
    }

    public var queueDepth: Int { condition.lock(); defer { condition.unlock() }; return waiting.count }
    public var activeCount: Int { condition.lock(); defer { condition.unlock() }; return laneMembers.reduce(0) { $0 + $1.count } }

    public func submit(_ request: TokenRequest) throws -> TokenStream {
        guard !request.prompt.isEmpty else { throw EngineError.emptyPrompt }
        guard request.maxTokens >= 1, request.prompt.count + request.maxTokens <= contextLength else {
            throw EngineError.contextExceeded(promptTokens: request.prompt.count, maxTokens: request.maxTokens, limit: contextLength)
        }
        if let bad = request.prompt.first(where: { $0 < 0 || $0 >= model.config.vocabSize }) {
            throw EngineError.unavailable("token id \(bad) is outside the vocabulary")
        }
        try request.sampling.validate()
        var continuation: AsyncThrowingStream<TokenEvent, Error>.Continuation!
        let events = AsyncThrowingStream<TokenEvent, Error>(bufferingPolicy: .unbounded) { continuation = $0 }
        condition.lock()
        if let failure { condition.unlock(); throw EngineError.unavailable(failure) }
        if stopped { condition.unlock(); throw EngineError.unavailable("shutting down") }
        if runningCount + waiting.count >= maxBatch + maxQueue {
            let retry = 1 + waiting.count / max(1, maxBatch)
            condition.unlock()
            throw EngineError.queueFull(retryAfterSeconds: retry)
        }
        let s = Sequence(id: nextID, request: request, continuation: continuation)
        nextID += 1
        waiting.append(s)
        condition.broadcast()
        condition.unlock()
        let cancel: @Sendable () -> Void = { [weak self, s] in self?.cancel(s) }
        continuation.onTermination = { _ in cancel() }
        return TokenStream(events: events, onCancel: cancel)
    }

    private func cancel(_ s: Sequence) {
        condition.lock()
        if !s.cancelled {
            s.cancelled = true
            if let i = waiting.firstIndex(where: { $0 === s }) { waiting.remove(at: i) }
            condition.broadcast()
        }
        condition.unlock()
        s.continuation.finish()
    }

    /// Stops every lane; running and waiting requests end with `EngineError.unavailable`.
    public func shutdown() {
        condition.lock()
        stopped = true
        let all = waiting + laneMembers.flatMap { $0 }
        waiting.removeAll()
        condition.broadcast()
        condition.unlock()
        done.wait()
        for s in all { s.continuation.finish(throwing: EngineError.unavailable("shutting down")) }
    }

    // MARK: lanes

    private func laneLoop(_ lane: Int) {
        while true {
            condition.lock()
            admit()
            var members = laneMembers[lane]
            let dropped = members.filter(\.cancelled)
            if !dropped.isEmpty {
                laneMembers[lane].removeAll { $0.cancelled }
                members = laneMembers[lane]
            }
            while members.isEmpty && !stopped && dropped.isEmpty {
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.5))
                admit()
                members = laneMembers[lane]
            }
            let stop = stopped
            condition.unlock()
            for s in dropped where s.opened { model.closeSession(s.id) }
            if stop { for s in members where s.opened { model.closeSession(s.id) }; return }
            if !members.isEmpty { step(lane, members) }
        }
    }

    /// Running requests not yet cancelled (a cancelled one leaves its lane at the lane's next turn,
    /// but no longer counts against admission). Lock held.
    private var runningCount: Int { laneMembers.reduce(0) { $0 + $1.lazy.filter { !$0.cancelled }.count } }

    /// Moves waiting requests into the lanes while fewer than `maxBatch` run. Lock held.
    private func admit() {
        var running = runningCount
        while running < maxBatch, !waiting.isEmpty {
            let s = waiting.removeFirst()
            let lane = laneMembers.indices.min { laneMembers[$0].count < laneMembers[$1].count }!
            laneMembers[lane].append(s)
            running += 1
            condition.broadcast()
        }
    }

    /// One batch: every member's next tokens (a whole prompt for a new one), one token back each.
    private func step(_ lane: Int, _ members: [Sequence]) {
        var steps: [SequenceStep] = []
        var stepped: [Sequence] = []
        for s in members {
            do {
                if !s.opened {
                    try model.openSession(s.id, sampling: s.request.sampling, prompt: s.request.prompt)
                    s.opened = true
                    steps.append(SequenceStep(session: s.id, tokens: s.request.prompt, topLogprobs: s.request.topLogprobs))
                } else {
                    steps.append(SequenceStep(session: s.id, tokens: [s.last], topLogprobs: s.request.topLogprobs))
                }
                stepped.append(s)
            } catch {
                finish(lane, s, .failure(error))
            }
        }
        guard !steps.isEmpty else { return }
        let sampled: [SampledToken]
        do { sampled = try model.step(steps) } catch {
            logger.error("step failed", metadata: ["lane": "\(lane)", "sequences": "\(stepped.count)", "error": "\(error)"])
            for s in stepped { finish(lane, s, .failure(error)) }
            return
        }
        for (s, t) in zip(stepped, sampled) {
            if s.request.stopTokens.contains(t.token) { finish(lane, s, .success(.stop)); continue }
            s.continuation.yield(.token(t))
            s.generated += 1
            s.last = t.token
            if s.generated >= s.request.maxTokens { finish(lane, s, .success(.length)) }
        }
    }

    private func finish(_ lane: Int, _ s: Sequence, _ outcome: Result<FinishReason, Error>) {
        condition.lock()
        laneMembers[lane].removeAll { $0 === s }
        s.cancelled = true   // nothing more for it
        condition.broadcast()
        condition.unlock()
        if s.opened { model.closeSession(s.id) }
        switch outcome {
        case let .success(reason):
            s.continuation.yield(.finished(reason))
            s.continuation.finish()
        case let .failure(error):
            s.continuation.finish(throwing: error)
        }
    }
}
