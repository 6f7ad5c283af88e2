import Foundation

/// Why a generation stopped.
public enum FinishReason: String, Sendable {
    /// An end-of-sequence token (not emitted).
    case stop
    /// `maxTokens` reached.
    case length
}

/// Timings of one generation, for the tokens/s report.
public struct GenerationStats: Sendable {
    public var promptTokens = 0
    public var generatedTokens = 0
    public var prefillSeconds = 0.0
    public var decodeSeconds = 0.0
    public var finishReason = FinishReason.length
    public var promptTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokens) / prefillSeconds : 0 }
    /// Decode speed over the tokens after the first (the first comes out of prefill).
    public var generationTokensPerSecond: Double {
        decodeSeconds > 0 ? Double(max(generatedTokens - 1, 0)) / decodeSeconds : 0
    }
}

/// Generates one completion on any `ForwardPass` (one process or a cluster): prefill the prompt as
/// one batch, then decode token by token until EOS or `maxTokens`.
public struct Generator {
    public let model: ForwardPass
    public let stopTokens: Set<Int>
    public init(model: ForwardPass, stopTokens: Set<Int>) { self.model = model; self.stopTokens = stopTokens }

    /// Calls `onToken` for each generated token as it is produced; returns the timings.
    @discardableResult
    public func generate(prompt: [Int], maxTokens: Int, sampling: SamplingParameters, session: UInt64 = 1,
                         onToken: (Int) throws -> Void) throws -> GenerationStats {
        var stats = GenerationStats()
        stats.promptTokens = prompt.count
        guard maxTokens > 0, !prompt.isEmpty else { return stats }
        try model.openSession(session, sampling: sampling, prompt: prompt)
        defer { model.closeSession(session) }
        let clock = ContinuousClock()
        var t0 = clock.now
        var next = try model.step([SequenceStep(session: session, tokens: prompt)])[0].token
        stats.prefillSeconds = seconds(t0.duration(to: clock.now))
        t0 = clock.now
        while true {
            if stopTokens.contains(next) { stats.finishReason = .stop; break }
            stats.generatedTokens += 1
            try onToken(next)
            if stats.generatedTokens == maxTokens { break }
            next = try model.step([SequenceStep(session: session, tokens: [next])])[0].token
        }
        stats.decodeSeconds = seconds(t0.duration(to: clock.now))
        return stats
    }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
