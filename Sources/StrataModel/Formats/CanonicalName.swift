// Checkpoint tensor names, built in one place. Strata addresses every tensor by its Hugging Face
// (Llama / Qwen2 / DeepSeek LLM) name; GGUF names are mapped onto these (GGUFCheckpoint).

/// Canonical (HF) checkpoint tensor names.
public enum CanonicalName {
    /// `model.embed_tokens.weight` — token embedding `[vocab, hidden]`.
    public static let embedTokens = "model.embed_tokens.weight"
    /// `model.norm.weight` — final RMSNorm `[hidden]`.
    public static let finalNorm = "model.norm.weight"
    /// `lm_head.weight` — output head `[vocab, hidden]` (absent when tied to the embedding).
    public static let lmHead = "lm_head.weight"

    /// Per-layer module paths, relative to `model.layers.{i}.` (append `.weight` / `.bias`).
    public enum Module: String, CaseIterable, Sendable {
        case qProj = "self_attn.q_proj"
        case kProj = "self_attn.k_proj"
        case vProj = "self_attn.v_proj"
        case oProj = "self_attn.o_proj"
        case gateProj = "mlp.gate_proj"
        case upProj = "mlp.up_proj"
        case downProj = "mlp.down_proj"
        case inputNorm = "input_layernorm"
        case postAttentionNorm = "post_attention_layernorm"

        /// `<module>.weight`
        public var weight: String { rawValue + ".weight" }
        /// `<module>.bias`
        public var bias: String { rawValue + ".bias" }
    }

    /// `model.layers.{i}.{suffix}`, e.g. `layer(3, "self_attn.q_proj.weight")`.
    public static func layer(_ i: Int, _ suffix: String) -> String { "model.layers.\(i).\(suffix)" }

    /// `model.layers.{i}.{module}.weight`.
    public static func weight(_ i: Int, _ module: Module) -> String { layer(i, module.weight) }

    /// `model.layers.{i}.{module}.bias`.
    public static func bias(_ i: Int, _ module: Module) -> String { layer(i, module.bias) }

    /// The FP8 block-scale tensors that may accompany an E4M3 weight `<prefix>.weight`:
    /// `<prefix>.weight_scale_inv` (HF `quant_method: "fp8"`), then `<prefix>.weight_scale`
    /// (compressed-tensors). Both are multipliers. Empty for names not ending in `.weight`.
    public static func blockScaleCandidates(for weight: String) -> [String] {
        guard weight.hasSuffix(".weight") else { return [] }
        return [weight + "_scale_inv", weight + "_scale"]
    }

    /// Splits `model.layers.{i}.{suffix}` into `(i, suffix)`; nil for other names.
    public static func parseLayer(_ name: String) -> (index: Int, suffix: String)? {
        let prefix = "model.layers."
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), rest[..<dot].allSatisfy({ ("0"..."9").contains($0) }),
              let i = Int(rest[..<dot]) else { return nil }
        return (i, String(rest[rest.index(after: dot)...]))
    }
}
