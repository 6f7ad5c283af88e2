import Foundation
import Logging
import StrataModel

/// Continuous batching over a `ForwardPass` (`LocalModel` in one process, `ClusterModel` over a
/// pipeline). Requests join and leave between steps; a prompt is prefilled in the same step as
/// other sequences' decode tokens.
///
/// Chunked prefill: one step carries at most `maxStepTokens` rows. Every running sequence's
/// decode token comes first; what is left of the budget goes to prompts in admission order, a
/// long prompt taking several steps (only its last chunk samples). So a step's time is bounded
/// whatever the prompts, running streams keep their pace while long prompts enter, and a stage
/// is never busy for minutes in one batch. Kernels are batch-invariant and attention reads the
/// cache in position order, so a chunked prompt gives exactly the tokens of an unchunked one.
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
    /// Most rows (tokens) one step carries; 0 = no limit (a whole prompt in one step).
    public let maxStepTokens: Int
    private let model: ForwardPass
    private var logger: Logger
    private let condition = NSCondition()
    private var waiting: [Sequence] = []
    private var laneMembers: [[Sequence]]
    private var nextID: UInt64 = 1
    private var stopped = false
    /// Draining: new requests are refused, running and waiting ones go on.
    private var draining = false
    private var failure: String?
    private var threads: [Thread] = []
    private let done = DispatchGroup()

    /// One request while it waits or runs.
    final class Sequence: @unchecked Sendable {
        let id: UInt64
        let request: TokenRequest
        let continuation: AsyncThrowingStream<TokenEvent, Error>.Continuation
        var opened = false
        /// Prompt tokens sent so far (chunked prefill); the prompt is in once this is its count.
        var prefilled = 0
        /// Its whole prompt is in: each step brings its last sampled token.
        var isDecoding: Bool { opened && prefilled == request.prompt.count }
        var generated = 0
        var last = 0
        var cancelled = false   // guarded by the scheduler's condition

        init(id: UInt64, request: TokenRequest, continuation: AsyncThrowingStream<TokenEvent, Error>.Continuation) {
            self.id = id; self.request = request; self.continuation = continuation
        }
    }

    /// - Parameter maxStepTokens: most rows per step (0 = unlimited); at least `maxBatch`, so
    ///   every running sequence's decode token fits with room for a prompt chunk.
    public init(model: ForwardPass, lanes: Int = 1, maxBatch: Int = 8, maxQueue: Int = 64, contextLength: Int? = nil,
                maxStepTokens: Int = 0, logger: Logger = Logger(label: "strata.scheduler")) {
        precondition(lanes >= 1 && maxBatch >= 1 && maxQueue >= 0)
        precondition(maxStepTokens == 0 || maxStepTokens >= maxBatch, "maxStepTokens must be 0 or at least maxBatch")
        self.model = model
        self.lanes = lanes
        self.maxBatch = maxBatch
        self.maxQueue = maxQueue
        self.maxStepTokens = maxStepTokens
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
        if stopped || draining { condition.unlock(); throw EngineError.unavailable("shutting down") }
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

    /// Refuses new requests from now on and waits up to `timeout` for the running and waiting
    /// ones to finish; true when they all did. Call `shutdown()` after it to end the rest.
    public func drain(timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18)
        condition.lock(); defer { condition.unlock() }
        draining = true
        condition.broadcast()
        while !(waiting.isEmpty && runningCount == 0) && !stopped && Date() < deadline {
            _ = condition.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.1)))
        }
        return waiting.isEmpty && runningCount == 0
    }

    /// Stops every lane; running and waiting requests end with `EngineError.unavailable` at once
    /// (a lane blocked in a step returns when the model gives up on it).
    public func shutdown() {
        condition.lock()
        stopped = true
        let all = waiting + laneMembers.flatMap { $0 }
        waiting.removeAll()
        for s in all { s.cancelled = true }
        condition.broadcast()
        condition.unlock()
        for s in all { s.continuation.finish(throwing: EngineError.unavailable("shutting down")) }
        done.wait()
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

    /// One batch: each decoding member's next token, then prompt chunks within the step budget
    /// (a prompt's last chunk samples its first token); one token back per sampling row.
    private func step(_ lane: Int, _ members: [Sequence]) {
        var budget = maxStepTokens > 0 ? maxStepTokens : Int.max
        var steps: [SequenceStep] = []
        var stepped: [(s: Sequence, chunk: Int)] = []   // chunk: prompt tokens in this step (0: decode)
        for s in members where s.isDecoding {
            steps.append(SequenceStep(session: s.id, tokens: [s.last], topLogprobs: s.request.topLogprobs))
            stepped.append((s, 0))
            budget -= 1
        }
        for s in members where !s.isDecoding && budget > 0 {
            do {
                if !s.opened {
                    try model.openSession(s.id, sampling: s.request.sampling, prompt: s.request.prompt)
                    s.opened = true
                }
                let prompt = s.request.prompt
                let chunk = min(budget, prompt.count - s.prefilled)
                steps.append(SequenceStep(session: s.id, tokens: Array(prompt[s.prefilled..<(s.prefilled + chunk)]),
                                          topLogprobs: s.request.topLogprobs, sample: s.prefilled + chunk == prompt.count))
                stepped.append((s, chunk))
                budget -= chunk
            } catch {
                finish(lane, s, .failure(error))
            }
        }
        guard !steps.isEmpty else { return }
        let sampled: [SampledToken]
        do { sampled = try model.step(steps) } catch {
            logger.error("step failed", metadata: ["lane": "\(lane)", "sequences": "\(stepped.count)", "error": "\(error)"])
            for (s, _) in stepped { finish(lane, s, .failure(error)) }
            return
        }
        var next = sampled.makeIterator()
        for ((s, chunk), step) in zip(stepped, steps) {
            s.prefilled += chunk
            guard step.sample, let t = next.next() else { continue }
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
