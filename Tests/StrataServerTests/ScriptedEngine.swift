import Foundation
import StrataModel
import StrataServer

/// A `TokenEngine` that replays a fixed token sequence (for HTTP protocol-shape tests only; the
/// end-to-end tests run the real scheduler). Emits `min(script.count, maxTokens)` tokens, then
/// `.length` if it stopped at `maxTokens`, else `.stop`. Records requests and cancellations.
final class ScriptedEngine: TokenEngine, @unchecked Sendable {
    private let lock = NSLock()
    private let script: [Int]
    private let delay: Duration?
    private var refusal: EngineError?
    private var _requests: [TokenRequest] = []
    private var _cancellations = 0
    private var _finishedStreams = 0
    let contextLength: Int

    init(script: [Int], contextLength: Int = 2048, delay: Duration? = nil, refusal: EngineError? = nil) {
        self.script = script; self.contextLength = contextLength; self.delay = delay; self.refusal = refusal
    }

    var queueDepth: Int { 3 }
    var activeCount: Int { locked { _requests.count - _cancellations - _finishedStreams } }
    var requests: [TokenRequest] { locked { _requests } }
    var cancellations: Int { locked { _cancellations } }

    private func locked<T>(_ body: () -> T) -> T { lock.lock(); defer { lock.unlock() }; return body() }

    func submit(_ request: TokenRequest) throws -> TokenStream {
        if let refusal { throw refusal }
        locked { _requests.append(request) }
        let (events, continuation) = AsyncThrowingStream<TokenEvent, Error>.makeStream()
        let tokens = Array(script.prefix(request.maxTokens))
        let finish: FinishReason = script.count >= request.maxTokens ? .length : .stop
        let delay = self.delay
        let task = Task { [weak self] in
            for (i, t) in tokens.enumerated() {
                if let delay { try? await Task.sleep(for: delay) }
                if Task.isCancelled { return }
                let top = (0..<request.topLogprobs).map { (token: (t + $0) % 1000, logprob: Float(-1 - $0)) }
                continuation.yield(.token(SampledToken(token: t, logprob: -0.25 - Float(i) / 100, top: top)))
            }
            continuation.yield(.finished(finish))
            continuation.finish()
            self?.locked { self?._finishedStreams += 1 }
        }
        let cancelled = LockedFlag()
        return TokenStream(events: events) { [weak self] in
            guard cancelled.setOnce() else { return }
            task.cancel()
            continuation.finish()
            self?.locked { self?._cancellations += 1 }
        }
    }
}

/// A flag set once, thread-safely.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    /// True the first time only.
    func setOnce() -> Bool { lock.lock(); defer { lock.unlock() }; if set { return false }; set = true; return true }
}
