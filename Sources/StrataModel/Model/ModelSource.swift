import Foundation

/// A model on disk: a `.gguf` file or an HF model directory (`config.json` + safetensors).
/// Opening it reads only metadata; weights stay in the memory map until a loader converts them.
public final class ModelSource: @unchecked Sendable {
    public let path: String
    public let config: ModelConfig
    public let weights: WeightSource
    /// The GGUF file, when the model is one (its tokenizer and chat template live inside).
    public let gguf: GGUFFile?

    public init(path: String) throws {
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw WeightFileError.unreadable(file: path, reason: "no such file or directory")
        }
        if isDir.boolValue {
            config = try ModelConfig(huggingFaceConfig: path + "/config.json")
            weights = try SafetensorsCheckpoint(path: path)
            gguf = nil
        } else {
            let g = try GGUFFile(path: path)
            config = try ModelConfig(gguf: g)
            weights = GGUFCheckpoint(file: g, headCount: config.heads, kvHeadCount: config.kvHeads)
            gguf = g
        }
    }

    /// True for an HF model directory.
    public var isDirectory: Bool { gguf == nil }
}
