import StrataModel

/// One generation request at the token level: what the HTTP layer hands the scheduler after
/// tokenizing and rendering the chat template.
public struct TokenRequest: Sendable {
    public var prompt: [Int]
    /// Most tokens to generate (≥ 1).
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Alternatives to report with each token (0–20); the sampled token's logprob always comes.
    public var topLogprobs: Int
    /// Tokens that end the generation without being emitted (EOS, end-of-turn).
    public var stopTokens: Set<Int>

    public init(prompt: [Int], maxTokens: Int, sampling: SamplingParameters, topLogprobs: Int = 0, stopTokens: Set<Int>) {
        self.prompt = prompt; self.maxTokens = maxTokens; self.sampling = sampling
        self.topLogprobs = topLogprobs; self.stopTokens = stopTokens
    }
}

/// What a running request yields, in order: tokens, then exactly one `finished` (unless the
/// stream throws, or the consumer cancels).
public enum TokenEvent: Sendable {
    case token(SampledToken)
    /// `.stop`: a stop token came (not emitted); `.length`: `maxTokens` reached.
    case finished(FinishReason)
}

/// Why the engine refused a request at submission.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    /// The bounded queue is full; retry after about this many seconds (HTTP 429 + Retry-After).
    case queueFull(retryAfterSeconds: Int)
    /// prompt + maxTokens exceeds the context a sequence may use (HTTP 400).
    case contextExceeded(promptTokens: Int, maxTokens: Int, limit: Int)
    /// An empty prompt (HTTP 400).
    case emptyPrompt
    /// The engine is shutting down or has failed (HTTP 503).
    case unavailable(String)

    public var description: String {
        switch self {
        case let .queueFull(s): return "the server is at capacity; retry in \(s) s"
        case let .contextExceeded(p, m, l):
            return "this model's maximum context length is \(l) tokens; the prompt has \(p) tokens and \(m) more were requested"
        case .emptyPrompt: return "the prompt is empty"
        case let .unavailable(r): return "the engine is unavailable: \(r)"
        }
    }
}

/// A running request: its events, and a way to stop it early (client gone, stop string matched),
/// which frees its KV cache on every stage.
public struct TokenStream: Sendable {
    public let events: AsyncThrowingStream<TokenEvent, Error>
    private let onCancel: @Sendable () -> Void

    public init(events: AsyncThrowingStream<TokenEvent, Error>, onCancel: @escaping @Sendable () -> Void) {
        self.events = events
        self.onCancel = onCancel
    }

    /// Stops the request; idempotent. The events stream ends without a `finished` event.
    public func cancel() { onCancel() }
}

/// Continuous batching over a forward pass: requests join and leave between steps.
/// `Scheduler` implements it over `LocalModel` or the cluster (`ClusterModel`).
public protocol TokenEngine: AnyObject, Sendable {
    /// Queues a request (throws `EngineError` when it cannot be accepted).
    func submit(_ request: TokenRequest) throws -> TokenStream
    /// Most positions (prompt + generated) one sequence may use.
    var contextLength: Int { get }
    /// Requests accepted but not yet running.
    var queueDepth: Int { get }
    /// Requests running.
    var activeCount: Int { get }
}
