import Foundation

/// Perplexity by llama.cpp's method (`llama-perplexity`): consecutive chunks of `context` tokens,
/// each evaluated from scratch, scoring the log-likelihood of tokens `context/2 ..< context`.
public struct PerplexityResult: Sendable {
    public var chunks: Int
    public var scoredTokens: Int
    public var negativeLogLikelihood: Double
    public var perplexity: Double { exp(negativeLogLikelihood / Double(max(scoredTokens, 1))) }
}

extension LocalModel {
    /// Runs llama.cpp's perplexity over `tokens`; `progress(chunk, runningPPL)` after each chunk.
    public func perplexity(tokens: [Int], context: Int, progress: (Int, Double) -> Void = { _, _ in }) throws -> PerplexityResult {
        precondition(context >= 2, "context must be at least 2")
        let chunks = tokens.count / context
        var result = PerplexityResult(chunks: chunks, scoredTokens: 0, negativeLogLikelihood: 0)
        let v = config.vocabSize
        for c in 0..<chunks {
            let chunk = Array(tokens[(c * context)..<((c + 1) * context)])
            let id = UInt64(1_000_000 + c)
            try openSession(id, sampling: .greedy, prompt: [])
            defer { closeSession(id) }
            let logits = try self.logits(session: id, tokens: chunk)
            logits.withUnsafeBufferPointer { l in
                for i in (context / 2)..<(context - 1) {
                    let row = l.baseAddress! + i * v
                    result.negativeLogLikelihood -= Double(row[chunk[i + 1]] - logSumExp(row, v))
                    result.scoredTokens += 1
                }
            }
            progress(c + 1, result.perplexity)
        }
        return result
    }
}
