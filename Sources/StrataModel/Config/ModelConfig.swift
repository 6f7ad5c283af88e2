import Foundation

/// Architecture hyper-parameters of a decoder-only transformer, validated once at load.
public struct ModelConfig: Sendable, Equatable {
    public enum Architecture: String, Sendable { case llama = "LlamaForCausalLM", qwen2 = "Qwen2ForCausalLM" }

    /// Llama-3 style frequency scaling (`rope_scaling.rope_type == "llama3"`).
    public struct Llama3RopeScaling: Sendable, Equatable {
        public var factor: Double
        public var lowFreqFactor: Double
        public var highFreqFactor: Double
        public var originalMaxPositions: Int
    }

    public var architecture: Architecture
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var vocabSize: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var ropeScaling: Llama3RopeScaling?
    public var maxPositions: Int
    public var tiedEmbeddings: Bool
    /// Qwen2: q/k/v projections carry biases.
    public var attentionBias: Bool
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]
    /// Present when the checkpoint stores linears as block-scaled FP8 (HF `quant_method: "fp8"`).
    public var fp8BlockSize: [Int]?

    /// Checks the invariants the forward pass relies on; throws naming the key.
    public func validate() throws {
        func need(_ ok: Bool, _ key: String, _ value: Any, _ why: String) throws {
            if !ok { throw ModelConfigError.invalid(key: key, value: "\(value)", reason: why) }
        }
        try need(hiddenSize > 0, "hidden_size", hiddenSize, "must be positive")
        try need(intermediateSize > 0, "intermediate_size", intermediateSize, "must be positive")
        try need(layerCount > 0, "num_hidden_layers", layerCount, "must be positive")
        try need(heads > 0, "num_attention_heads", heads, "must be positive")
        try need(kvHeads > 0 && heads % kvHeads == 0, "num_key_value_heads", kvHeads, "must divide num_attention_heads (\(heads))")
        try need(headDim > 0 && headDim % 2 == 0, "head_dim", headDim, "must be positive and even")
        try need(vocabSize > 0, "vocab_size", vocabSize, "must be positive")
        try need(rmsNormEps > 0, "rms_norm_eps", rmsNormEps, "must be positive")
        try need(ropeTheta > 0, "rope_theta", ropeTheta, "must be positive")
        try need(maxPositions > 0, "max_position_embeddings", maxPositions, "must be positive")
        if let b = fp8BlockSize { try need(b == [128, 128], "quantization_config.weight_block_size", b, "only [128, 128] is supported") }
    }
}

/// Errors in a model configuration (HF config.json or GGUF metadata). Each names the key.
public enum ModelConfigError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read or is not a JSON object.
    case unreadable(file: String, reason: String)
    /// A required key is absent.
    case missing(key: String)
    /// A key has the wrong type.
    case wrongType(key: String, expected: String)
    /// A key has a value Strata does not support.
    case unsupported(key: String, value: String)
    /// A value violates a constraint.
    case invalid(key: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(f, r): return "cannot read model config \(f): \(r)"
        case let .missing(k): return "model config: missing key '\(k)'"
        case let .wrongType(k, t): return "model config: key '\(k)' must be \(t)"
        case let .unsupported(k, v): return "model config: unsupported \(k) = \(v)"
        case let .invalid(k, v, r): return "model config: \(k) = \(v) \(r)"
        }
    }
}
