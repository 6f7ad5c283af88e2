import StrataModel

/// The default of cluster.yaml's `max_step_tokens`: how many tokens one step may carry so that a
/// step through the whole pipeline costs about `targetFLOPs` of linear work (2 flops per weight
/// per token: every layer's projections and the output head; attention comes on top and grows with
/// the context), rounded down to a power of two, at least `maxBatch` (every running
/// sequence's decode token goes in each step) and at most 512.
///
/// The target is measured (`strata bench load`, 2-core AMD EPYC Zen 4, default cluster.yaml: 8
/// prompts of 3,500 tokens arriving while a stream runs): at 128 tokens per step (64 GFLOP) the
/// running stream's longest gap was 1.88 s — attention over 3,500 cached positions costs about as
/// much as the linears there, and three worker processes share two cores — so the target is 32
/// GFLOP: 64 tokens for SmolLM2 (0.27 GFLOP per token). Prefill throughput was 1.65× the
/// unchunked run's at 128 (an unchunked step keeps every other request waiting). For DeepSeek LLM
/// 67B (≈ 134 GFLOP per token) it gives `maxBatch`: every step is a decode step plus a few prompt
/// tokens.
public enum StepBudget {
    public static let targetFLOPs = 32e9
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
