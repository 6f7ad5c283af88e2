import Foundation

extension ModelConfig {
    /// Reads an HF `config.json` (LlamaForCausalLM, Qwen2ForCausalLM).
    public init(huggingFaceConfig path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelConfigError.unreadable(file: path, reason: "no such file")
        }
        let obj: Any
        do { obj = try JSONSerialization.jsonObject(with: data) } catch {
            throw ModelConfigError.unreadable(file: path, reason: "invalid JSON: \(error.localizedDescription)")
        }
        guard let json = obj as? [String: Any] else { throw ModelConfigError.unreadable(file: path, reason: "not a JSON object") }
        try self.init(huggingFaceJSON: json)
    }

    /// Builds a config from a decoded `config.json` object.
    public init(huggingFaceJSON j: [String: Any]) throws {
        let r = JSONKeys(j)
        let archName: String
        if let archs = j["architectures"] as? [String], let first = archs.first { archName = first } else {
            archName = try r.string("model_type") == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"
        }
        guard let arch = Architecture(rawValue: archName) else { throw ModelConfigError.unsupported(key: "architectures", value: archName) }
        architecture = arch
        hiddenSize = try r.int("hidden_size")
        intermediateSize = try r.int("intermediate_size")
        layerCount = try r.int("num_hidden_layers")
        heads = try r.int("num_attention_heads")
        kvHeads = try r.optionalInt("num_key_value_heads") ?? heads
        headDim = try r.optionalInt("head_dim") ?? (heads > 0 ? hiddenSize / heads : 0)
        vocabSize = try r.int("vocab_size")
        rmsNormEps = try r.optionalDouble("rms_norm_eps") ?? 1e-6
        ropeTheta = try r.optionalDouble("rope_theta") ?? 10000
        maxPositions = try r.optionalInt("max_position_embeddings") ?? 4096
        tiedEmbeddings = try r.optionalBool("tie_word_embeddings") ?? false
        attentionBias = arch == .qwen2 ? true : (try r.optionalBool("attention_bias") ?? false)
        bosTokenID = try r.optionalInt("bos_token_id")
        if let e = j["eos_token_id"] as? [Any] { eosTokenIDs = e.compactMap { ($0 as? NSNumber)?.intValue } } else {
            eosTokenIDs = (try r.optionalInt("eos_token_id")).map { [$0] } ?? []
        }
        if let act = j["hidden_act"] as? String, act != "silu" { throw ModelConfigError.unsupported(key: "hidden_act", value: act) }
        if let mlpBias = j["mlp_bias"] as? Bool, mlpBias { throw ModelConfigError.unsupported(key: "mlp_bias", value: "true") }
        ropeScaling = try Self.ropeScaling(j["rope_scaling"])
        fp8BlockSize = try Self.quantization(j["quantization_config"])
        try validate()
    }

    static func ropeScaling(_ v: Any?) throws -> Llama3RopeScaling? {
        guard let v, !(v is NSNull) else { return nil }
        guard let d = v as? [String: Any] else { throw ModelConfigError.wrongType(key: "rope_scaling", expected: "an object") }
        let r = JSONKeys(d, prefix: "rope_scaling.")
        let type = (d["rope_type"] as? String) ?? (d["type"] as? String) ?? "?"
        switch type {
        case "default": return nil
        case "llama3":
            return Llama3RopeScaling(
                factor: try r.double("factor"), lowFreqFactor: try r.double("low_freq_factor"),
                highFreqFactor: try r.double("high_freq_factor"),
                originalMaxPositions: try r.int("original_max_position_embeddings"))
        default: throw ModelConfigError.unsupported(key: "rope_scaling.rope_type", value: type)
        }
    }

    static func quantization(_ v: Any?) throws -> [Int]? {
        guard let v, !(v is NSNull) else { return nil }
        guard let d = v as? [String: Any] else { throw ModelConfigError.wrongType(key: "quantization_config", expected: "an object") }
        let method = d["quant_method"] as? String ?? "?"
        switch method {
        case "fp8":
            if let fmt = d["fmt"] as? String, fmt != "e4m3" { throw ModelConfigError.unsupported(key: "quantization_config.fmt", value: fmt) }
            let block = (d["weight_block_size"] as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } ?? [128, 128]
            return block
        case "compressed-tensors":
            return [128, 128]
        default: throw ModelConfigError.unsupported(key: "quantization_config.quant_method", value: method)
        }
    }
}

/// Typed access to a JSON object's keys, with errors that name the key.
struct JSONKeys {
    let object: [String: Any]
    let prefix: String
    init(_ o: [String: Any], prefix: String = "") { object = o; self.prefix = prefix }

    func number(_ k: String) throws -> NSNumber? {
        guard let v = object[k], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !isJSONBool(v) else { throw ModelConfigError.wrongType(key: prefix + k, expected: "a number") }
        return n
    }
    func int(_ k: String) throws -> Int {
        guard let v = try optionalInt(k) else { throw ModelConfigError.missing(key: prefix + k) }
        return v
    }
    func optionalInt(_ k: String) throws -> Int? {
        guard let n = try number(k) else { return nil }
        guard n.doubleValue == n.doubleValue.rounded() else { throw ModelConfigError.wrongType(key: prefix + k, expected: "an integer") }
        return n.intValue
    }
    func double(_ k: String) throws -> Double {
        guard let v = try optionalDouble(k) else { throw ModelConfigError.missing(key: prefix + k) }
        return v
    }
    func optionalDouble(_ k: String) throws -> Double? { try number(k)?.doubleValue }
    func optionalBool(_ k: String) throws -> Bool? {
        guard let v = object[k], !(v is NSNull) else { return nil }
        guard isJSONBool(v), let b = v as? Bool else { throw ModelConfigError.wrongType(key: prefix + k, expected: "a boolean") }
        return b
    }
    func string(_ k: String) throws -> String {
        guard let v = object[k] else { throw ModelConfigError.missing(key: prefix + k) }
        guard let s = v as? String else { throw ModelConfigError.wrongType(key: prefix + k, expected: "a string") }
        return s
    }
}

/// JSONSerialization yields NSNumber for both numbers and booleans; booleans have their own class.
func isJSONBool(_ v: Any) -> Bool {
    type(of: v) == Bool.self || (v is Bool && String(describing: type(of: v)).contains("Boolean"))
}
