extension ModelConfig {
    /// Reads the `llama` architecture's hyper-parameters from GGUF metadata.
    public init(gguf g: GGUFFile) throws {
        let arch = try g.string("general.architecture")
        guard arch == "llama" else { throw ModelConfigError.unsupported(key: "general.architecture", value: arch) }
        func int(_ k: String) throws -> Int {
            guard let v = g.metadata[k] else { throw ModelConfigError.missing(key: k) }
            guard let i = v.int else { throw ModelConfigError.wrongType(key: k, expected: "an integer") }
            return i
        }
        func double(_ k: String, _ d: Double) throws -> Double {
            guard let v = g.metadata[k] else { return d }
            guard let x = v.double else { throw ModelConfigError.wrongType(key: k, expected: "a number") }
            return x
        }
        architecture = .llama
        hiddenSize = try int("llama.embedding_length")
        intermediateSize = try int("llama.feed_forward_length")
        layerCount = try int("llama.block_count")
        heads = try int("llama.attention.head_count")
        kvHeads = g.metadata["llama.attention.head_count_kv"] == nil ? heads : try int("llama.attention.head_count_kv")
        headDim = g.metadata["llama.attention.key_length"] == nil ? hiddenSize / max(heads, 1) : try int("llama.attention.key_length")
        if let vl = g.metadata["llama.attention.value_length"]?.int, vl != headDim {
            throw ModelConfigError.unsupported(key: "llama.attention.value_length", value: "\(vl) (key_length \(headDim))")
        }
        if let v = g.metadata["llama.vocab_size"]?.int { vocabSize = v } else if let t = g.metadata["tokenizer.ggml.tokens"]?.array {
            vocabSize = t.count
        } else { throw ModelConfigError.missing(key: "llama.vocab_size") }
        rmsNormEps = try double("llama.attention.layer_norm_rms_epsilon", 1e-5)
        ropeTheta = try double("llama.rope.freq_base", 10000)
        maxPositions = (try? int("llama.context_length")) ?? 4096
        tiedEmbeddings = g.tensors["output.weight"] == nil
        attentionBias = g.tensors["blk.0.attn_q.bias"] != nil
        bosTokenID = g.metadata["tokenizer.ggml.bos_token_id"]?.int
        eosTokenIDs = g.metadata["tokenizer.ggml.eos_token_id"]?.int.map { [$0] } ?? []
        fp8BlockSize = nil
        ropeScaling = nil
        if let t = g.metadata["llama.rope.scaling.type"]?.string, t != "none" {
            throw ModelConfigError.unsupported(key: "llama.rope.scaling.type", value: t)
        }
        try validate()
    }
}
