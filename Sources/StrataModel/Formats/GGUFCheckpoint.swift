// GGUF tensors under canonical HF names. Names follow llama.cpp's tensor map (gguf-py
// `tensor_mapping.py`: token_embd, blk.N.attn_q, ..., output_norm, output). Shapes are turned from
// ggml order (innermost first) into row-major [out, in]. Llama-family converters
// (`convert_hf_to_gguf.py`, `LlamaModel.permute`) reorder q_proj/k_proj rows for llama.cpp's
// interleaved RoPE; reads undo that (StoredRowOrder.ropeInterleaved) so HF rotate-half RoPE applies.

/// A GGUF file read as a `WeightSource` with canonical (HF) tensor names.
public final class GGUFCheckpoint: WeightSource, @unchecked Sendable {
    public let file: GGUFFile
    /// Attention heads (the Q permutation's head count).
    public let headCount: Int
    /// Key/value heads (the K permutation's head count).
    public let kvHeadCount: Int
    /// Whether Q/K rows are stored in llama.cpp's rotary permutation (and so are un-permuted on read).
    public let ropePermuted: Bool
    public var path: String { file.path }

    /// Architectures whose converters permute Q/K rows (llama.cpp rope type NORM). Others
    /// (qwen2, …: NEOX) store HF order.
    public static let permutedArchitectures: Set<String> = ["llama", "deepseek", "mistral", "granite"]

    /// - Parameter ropePermuted: whether Q/K rows are permuted; nil infers it from
    ///   `general.architecture` (see `permutedArchitectures`).
    public init(file: GGUFFile, headCount: Int, kvHeadCount: Int, ropePermuted: Bool? = nil) {
        self.file = file
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.ropePermuted = ropePermuted
            ?? Self.permutedArchitectures.contains(file.metadata["general.architecture"]?.string ?? "")
    }

    /// Reads the head counts from the file's metadata (`<arch>.attention.head_count`, and
    /// `<arch>.attention.head_count_kv`, which defaults to the head count).
    public convenience init(file: GGUFFile) throws {
        let arch = try file.string("general.architecture")
        let heads = try file.int("\(arch).attention.head_count")
        let kvHeads = file.metadata["\(arch).attention.head_count_kv"]?.int ?? heads
        self.init(file: file, headCount: heads, kvHeadCount: kvHeads)
    }

    /// The GGUF name of a canonical tensor name, or nil when GGUF has no counterpart.
    public static func ggufName(for canonical: String) -> String? {
        switch canonical {
        case CanonicalName.embedTokens: return "token_embd.weight"
        case CanonicalName.finalNorm: return "output_norm.weight"
        case CanonicalName.lmHead: return "output.weight"
        default: break
        }
        guard let (i, suffix) = CanonicalName.parseLayer(canonical) else { return nil }
        for module in CanonicalName.Module.allCases {
            if suffix == module.weight { return "blk.\(i).\(ggufModule(module)).weight" }
            if suffix == module.bias { return "blk.\(i).\(ggufModule(module)).bias" }
        }
        return nil
    }

    /// llama.cpp's name for a layer module.
    private static func ggufModule(_ m: CanonicalName.Module) -> String {
        switch m {
        case .qProj: return "attn_q"
        case .kProj: return "attn_k"
        case .vProj: return "attn_v"
        case .oProj: return "attn_output"
        case .gateProj: return "ffn_gate"
        case .upProj: return "ffn_up"
        case .downProj: return "ffn_down"
        case .inputNorm: return "attn_norm"
        case .postAttentionNorm: return "ffn_norm"
        }
    }

    public func contains(_ name: String) -> Bool {
        guard let g = Self.ggufName(for: name) else { return false }
        return file.tensors[g] != nil
    }

    public func tensor(_ name: String) throws -> StoredTensor {
        guard let g = Self.ggufName(for: name), let info = file.tensors[g] else {
            throw WeightFileError.missingTensor(file: path, tensor: name)
        }
        let bytes = try file.data(of: info)
        guard let type = info.type else {
            throw WeightFileError.unsupportedDType(file: path, tensor: name, dtype: "ggml type \(info.typeID)")
        }
        let encoding = Self.encoding(of: type)
        guard encoding.isDecodable else {
            throw WeightFileError.unsupportedDType(file: path, tensor: name, dtype: "ggml \(type)")
        }
        return try StoredTensor(
            name: name, file: path, shape: info.shape.reversed(), encoding: encoding, bytes: bytes,
            rowOrder: try rowOrder(of: name, info: info), owner: file)
    }

    /// Plain float ggml types map to the plain encodings.
    static func encoding(of type: GGMLType) -> TensorEncoding {
        switch type {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return .ggml(type)
        }
    }

    /// `.ropeInterleaved` for permuted Q/K weights and biases, with the head size from the row count.
    private func rowOrder(of name: String, info: GGUFTensorInfo) throws -> StoredRowOrder {
        guard ropePermuted, let (_, suffix) = CanonicalName.parseLayer(name) else { return .natural }
        let heads: Int
        switch suffix {
        case CanonicalName.Module.qProj.weight, CanonicalName.Module.qProj.bias: heads = headCount
        case CanonicalName.Module.kProj.weight, CanonicalName.Module.kProj.bias: heads = kvHeadCount
        default: return .natural
        }
        // Output rows are ggml's outermost axis for a weight, the only axis for a bias.
        let rows = info.shape.count == 1 ? info.shape[0] : info.shape.dropFirst().reduce(1, *)
        guard heads > 0, rows % heads == 0, (rows / heads) % 2 == 0 else {
            throw WeightFileError.malformedTensor(file: path, tensor: name, reason: "\(rows) rows do not split into \(heads) heads of even size")
        }
        return .ropeInterleaved(headDim: rows / heads)
    }
}
