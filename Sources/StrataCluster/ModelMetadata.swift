import Foundation
import StrataModel

/// Reads a model's architecture from its metadata alone — no weights are touched.
public enum ModelMetadata {
    /// `path` is a `.gguf` file (its header), an HF model directory (its `config.json`), or a
    /// `config.json` file.
    public static func load(path: String) throws -> ModelConfig {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ClusterError.modelMetadata(path: path, reason: "no such file or directory")
        }
        do {
            if isDirectory.boolValue {
                return try ModelConfig(huggingFaceConfig: (path as NSString).appendingPathComponent("config.json"))
            }
            if path.hasSuffix(".json") { return try ModelConfig(huggingFaceConfig: path) }
            return try ModelConfig(gguf: try GGUFFile(path: path))
        } catch let e as ClusterError {
            throw e
        } catch {
            throw ClusterError.modelMetadata(path: path, reason: "\(error)")
        }
    }
}
