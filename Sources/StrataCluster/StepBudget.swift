import StrataModel

/// The default of cluster.yaml's `max_step_tokens`: how many tokens one step may carry so that a
/// step through the whole pipeline costs about `targetFLOPs` of linear work (2 flops per weight
/// per token: every layer's projections and the output head; attention is small beside them at
/// the contexts served here), rounded down to a power of two, at least `maxBatch` (every running
/// sequence's decode token goes in each step) and at most 512.
///
/// The target is measured, not guessed: on a 2-core AVX2 box, SmolLM2 (0.27 GFLOP per token)
/// prefills at ≈ 300–400 tokens/s through one process, so 64 GFLOP ≈ 0.6–0.8 s per step through
/// the three-stage default cluster — short enough that a running stream's gap between tokens
/// stays well under 2 s while long prompts enter, long enough that chunking costs < 10% of
/// prefill throughput (README, `strata bench load`). For DeepSeek LLM 67B (≈ 134 GFLOP per
/// token) it gives `maxBatch`: every step is then a decode step plus a few prompt tokens.
public enum StepBudget {
    public static let targetFLOPs = 64e9
    public static let ceiling = 512

    public static func defaultTokens(config c: ModelConfig, maxBatch: Int) -> Int {
        let q = c.heads * c.headDim, kv = c.kvHeads * c.headDim, h = c.hiddenSize
        let layer = q * h + 2 * kv * h + h * q + 3 * c.intermediateSize * h
        let perToken = 2 * Double(c.layerCount * layer + c.vocabSize * h)
        var tokens = 1
        while tokens * 2 <= ceiling && Double(tokens * 2) * perToken <= targetFLOPs { tokens *= 2 }
        return max(maxBatch, tokens)
    }
}
