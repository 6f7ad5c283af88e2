import Foundation
import StrataModel

/// Writes tiny random-weight HF checkpoints (config.json + model.safetensors) for model tests.
/// Weights are deterministic (seeded) and scaled like a trained model's (≈ 1/√fan-in), so
/// activations stay in a realistic range through every layer.
public struct TinyCheckpoint {
    public enum Variant: String, CaseIterable, Sendable {
        /// Llama, multi-head attention (kvHeads == heads), untied head.
        case mha
        /// Llama, grouped-query attention, tied head.
        case gqaTied
        /// Qwen2: q/k/v biases, GQA, untied head.
        case qwen2
        /// Llama with llama3 rope scaling, linears stored as FP8 with `weight_scale_inv`.
        case fp8
        /// Llama, bf16 weights, sizes not multiples of 128 (partial FP8 blocks).
        case oddBF16
    }

    public let variant: Variant
    public let directory: String
    public var layers: Int { 4 }
    public var hidden: Int { variant == .oddBF16 ? 200 : 128 }
    public var heads: Int { variant == .oddBF16 ? 5 : 4 }
    public var kvHeads: Int { [.mha, .oddBF16].contains(variant) ? heads : 2 }
    public var headDim: Int { hidden / heads }
    public var ffn: Int { variant == .oddBF16 ? 300 : 256 }
    public var vocab: Int { variant == .oddBF16 ? 301 : 256 }

    /// Writes the checkpoint into a fresh temporary directory.
    public init(_ variant: Variant) throws {
        self.variant = variant
        directory = NSTemporaryDirectory() + "strata-tiny-\(variant.rawValue)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try configJSON().write(to: URL(fileURLWithPath: directory + "/config.json"))
        let bytes = SafetensorsWriter.encode(tensors())
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/model.safetensors"))
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    func configJSON() throws -> Data {
        var c: [String: Any] = [
            "architectures": [variant == .qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM"],
            "hidden_size": hidden, "intermediate_size": ffn, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": kvHeads, "vocab_size": vocab,
            "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 512,
            "tie_word_embeddings": variant == .gqaTied, "hidden_act": "silu",
            "bos_token_id": 1, "eos_token_id": 2,
        ]
        if variant == .fp8 {
            c["rope_scaling"] = ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 64]
            c["quantization_config"] = ["quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                                        "weight_block_size": [128, 128]]
        }
        return try JSONSerialization.data(withJSONObject: c, options: [.sortedKeys])
    }

    func tensors() -> [SafetensorsTensor] {
        var rng = SplitMix(seed: UInt64(Variant.allCases.firstIndex(of: variant)!) &+ 7)
        var out: [SafetensorsTensor] = []
        func matrix(_ name: String, _ rows: Int, _ cols: Int) {
            let s = 1 / Float(cols).squareRoot()
            let v = (0..<(rows * cols)).map { _ in rng.normal() * s }
            switch variant {
            case .fp8: out += SafetensorsTensor.fp8Linear(name, out: rows, in: cols, v)
            case .oddBF16: out.append(.bf16(name, shape: [rows, cols], v))
            default: out.append(.f32(name, shape: [rows, cols], v))
            }
        }
        func vector(_ name: String, _ n: Int, around c: Float, spread: Float) {
            out.append(.f32(name, shape: [n], (0..<n).map { _ in c + rng.normal() * spread }))
        }
        let q = heads * headDim, kv = kvHeads * headDim
        out.append(.f32(CanonicalName.embedTokens, shape: [vocab, hidden], (0..<(vocab * hidden)).map { _ in rng.normal() }))
        for i in 0..<layers {
            typealias M = CanonicalName.Module
            vector(CanonicalName.weight(i, .inputNorm), hidden, around: 1, spread: 0.1)
            vector(CanonicalName.weight(i, .postAttentionNorm), hidden, around: 1, spread: 0.1)
            matrix(CanonicalName.weight(i, .qProj), q, hidden)
            matrix(CanonicalName.weight(i, .kProj), kv, hidden)
            matrix(CanonicalName.weight(i, .vProj), kv, hidden)
            matrix(CanonicalName.weight(i, .oProj), hidden, q)
            if variant == .qwen2 {
                vector(CanonicalName.bias(i, .qProj), q, around: 0, spread: 0.5)
                vector(CanonicalName.bias(i, .kProj), kv, around: 0, spread: 0.5)
                vector(CanonicalName.bias(i, .vProj), kv, around: 0, spread: 0.5)
            }
            matrix(CanonicalName.weight(i, .gateProj), ffn, hidden)
            matrix(CanonicalName.weight(i, .upProj), ffn, hidden)
            matrix(CanonicalName.weight(i, .downProj), hidden, ffn)
        }
        vector(CanonicalName.finalNorm, hidden, around: 1, spread: 0.1)
        if variant != .gqaTied { matrix(CanonicalName.lmHead, vocab, hidden) }
        return out
    }
}

/// SplitMix64 with a Box–Muller normal: deterministic test data.
public struct SplitMix {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }
    public mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * .pi * u2)
    }
}
