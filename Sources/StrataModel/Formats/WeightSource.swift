/// A source of checkpoint tensors addressed by canonical HF names (see `CanonicalName`):
/// `model.embed_tokens.weight`, `model.layers.{i}.self_attn.q_proj.weight`/`.bias`, `k_proj`,
/// `v_proj`, `o_proj`, `model.layers.{i}.mlp.gate_proj/up_proj/down_proj.weight`,
/// `model.layers.{i}.input_layernorm.weight`, `model.layers.{i}.post_attention_layernorm.weight`,
/// `model.norm.weight`, `lm_head.weight`.
///
/// Each `StoredTensor` keeps the source's memory maps alive while it exists.
public protocol WeightSource: AnyObject, Sendable {
    /// The file or directory the tensors come from.
    var path: String { get }
    /// Whether the checkpoint has a tensor of this canonical name (it may still fail to load).
    func contains(_ name: String) -> Bool
    /// The tensor, located and validated: `WeightFileError.missingTensor`, `.unsupportedDType`,
    /// `.outOfBounds` or `.malformedTensor` otherwise, each naming the file and tensor.
    func tensor(_ name: String) throws -> StoredTensor
}
