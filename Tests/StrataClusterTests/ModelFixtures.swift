import Foundation
import StrataModel

/// HF config.json files written to a temp directory, with the published shapes
/// (shared/REFERENCES.md "Models we serve").
enum ModelFixtures {
    static func configJSON(hidden: Int, layers: Int, heads: Int, kvHeads: Int, ffn: Int, vocab: Int, tied: Bool = false) -> String {
        """
        {"architectures": ["LlamaForCausalLM"], "hidden_size": \(hidden), "intermediate_size": \(ffn),
         "num_hidden_layers": \(layers), "num_attention_heads": \(heads), "num_key_value_heads": \(kvHeads),
         "vocab_size": \(vocab), "rms_norm_eps": 1e-6, "rope_theta": 10000, "max_position_embeddings": 4096,
         "hidden_act": "silu", "tie_word_embeddings": \(tied), "bos_token_id": 100000, "eos_token_id": 100001}
        """
    }

    static let deepSeek67B = configJSON(hidden: 8192, layers: 95, heads: 64, kvHeads: 8, ffn: 22016, vocab: 102400)
    static let deepSeek7B = configJSON(hidden: 4096, layers: 30, heads: 32, kvHeads: 32, ffn: 11008, vocab: 102400)
    static let smolLM2 = configJSON(hidden: 576, layers: 30, heads: 9, kvHeads: 3, ffn: 1536, vocab: 49152, tied: true)

    /// Writes `json` as config.json in a new temp directory and returns the directory.
    static func modelDirectory(_ json: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try json.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return dir.path
    }

    static func config(_ json: String) throws -> ModelConfig {
        try ModelConfig(huggingFaceJSON: try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any])
    }
}
