/// One sequence's share of a step: tokens to append to its session (a prompt, whole or one chunk
/// of it, then the last sampled token).
public struct SequenceStep: Sendable {
    public var session: UInt64
    public var tokens: [Int]
    /// How many top alternatives to report with the sampled token.
    public var topLogprobs: Int
    /// Whether a next token is sampled after these tokens. A chunk of a prompt that is split over
    /// several steps (chunked prefill) only fills the cache; the chunk that ends the prompt samples.
    public var sample: Bool
    public init(session: UInt64, tokens: [Int], topLogprobs: Int = 0, sample: Bool = true) {
        self.session = session; self.tokens = tokens; self.topLogprobs = topLogprobs; self.sample = sample
    }
}

/// The one forward-pass interface: `LocalModel` implements it in one process, the coordinator
/// over a pipeline of workers. Generation, sampling and stopping are written once against it.
public protocol ForwardPass: AnyObject {
    var config: ModelConfig { get }
    /// Starts a session with an empty KV cache and its own sampler.
    func openSession(_ id: UInt64, sampling: SamplingParameters, prompt: [Int]) throws
    /// Appends each sequence's tokens and samples one next token per step with `sample`, in the
    /// order of those steps (steps without `sample` give nothing back).
    func step(_ batch: [SequenceStep]) throws -> [SampledToken]
    /// Frees the session's KV cache everywhere.
    func closeSession(_ id: UInt64)
}

/// Errors of the forward pass.
public enum ForwardError: Error, CustomStringConvertible, Equatable {
    /// A step named a session that is not open.
    case unknownSession(UInt64)
    /// A session id was opened twice.
    case duplicateSession(UInt64)
    /// A token id outside the vocabulary.
    case tokenOutOfRange(token: Int, vocab: Int)
    /// The sequence would exceed the model's context.
    case contextOverflow(positions: Int, limit: Int)
    /// An empty token list in a step.
    case emptyStep(UInt64)

    public var description: String {
        switch self {
        case let .unknownSession(id): return "session \(id) is not open"
        case let .duplicateSession(id): return "session \(id) is already open"
        case let .tokenOutOfRange(t, v): return "token id \(t) is outside the vocabulary (\(v))"
        case let .contextOverflow(p, l): return "sequence of \(p) positions exceeds the context limit \(l)"
        case let .emptyStep(id): return "step for session \(id) has no tokens"
        }
    }
}
