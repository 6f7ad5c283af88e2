import StrataModel

/// Memory a model needs, by part, in a given precision — computed from its config alone.
///
/// Choices (matching how StrataModel loads weights):
/// - linears: fp8 = 1 byte per parameter + one f32 scale per 128×128 block (`BlockScaledFP8Matrix`);
///   f32 = 4 bytes per parameter. Qwen2's q/k/v biases and all norms are f32.
/// - the token embedding (first stage) and the output head (last stage) stay above FP8, as the
///   engine loads them (`TablePrecision`): f16 in an fp8 plan, f32 in an f32 plan. A head tied to the embedding shares its storage only when
///   one stage holds both; otherwise the last stage keeps its own copy.
/// - KV cache: f32 keys and values for `context × maxBatch` tokens per layer.
public struct ModelFootprint: Sendable, Equatable {
    /// Weights of one decoder layer (linears, biases, two norms).
    public var layerWeightBytes: Int
    /// KV cache reserved per layer: context × maxBatch × 2 × kvHeads × headDim × 4.
    public var layerKVBytes: Int
    /// Token embedding, on the first stage.
    public var embeddingBytes: Int
    /// Output head, on the last stage (unless tied and on the same stage as the embedding).
    public var headBytes: Int
    /// Final norm, on the last stage.
    public var finalNormBytes: Int
    /// Whether the head is the embedding matrix.
    public var tiedHead: Bool
    /// Fixed allowance per worker for activations, attention scratch and runtime overhead.
    public var workspaceBytes: Int

    public init(config c: ModelConfig, precision: ClusterConfig.Precision, context: Int, maxBatch: Int, workspaceBytes: Int) {
        let q = c.heads * c.headDim, kv = c.kvHeads * c.headDim, h = c.hiddenSize, f = c.intermediateSize
        func linear(_ out: Int, _ inp: Int) -> Int { Self.linearBytes(out: out, in: inp, precision: precision) }
        let attention = linear(q, h) + 2 * linear(kv, h) + linear(h, q) + (c.attentionBias ? (q + 2 * kv) * 4 : 0)
        let mlp = 2 * linear(f, h) + linear(h, f)
        layerWeightBytes = attention + mlp + 2 * h * 4
        layerKVBytes = context * maxBatch * 2 * kv * 4
        let tableBytes = c.vocabSize * h * (precision == .fp8 ? 2 : 4)
        embeddingBytes = tableBytes
        headBytes = tableBytes
        finalNormBytes = h * 4
        tiedHead = c.tiedEmbeddings
        self.workspaceBytes = workspaceBytes
    }

    /// Bytes of a `[out, in]` matrix: fp8 with 128×128 f32 block scales, or plain f32.
    public static func linearBytes(out: Int, in inp: Int, precision: ClusterConfig.Precision) -> Int {
        switch precision {
        case .f32: return out * inp * 4
        case .fp8: return out * inp + ((out + 127) / 128) * ((inp + 127) / 128) * 4
        }
    }

    /// Weights plus KV cache of one layer.
    public var layerBytes: Int { layerWeightBytes + layerKVBytes }

    /// Weights besides the layers held by a stage, by its position in the pipeline.
    public func extraWeightBytes(isFirst: Bool, isLast: Bool) -> Int {
        var bytes = isFirst ? embeddingBytes : 0
        if isLast { bytes += finalNormBytes + (tiedHead && isFirst ? 0 : headBytes) }
        return bytes
    }
}
