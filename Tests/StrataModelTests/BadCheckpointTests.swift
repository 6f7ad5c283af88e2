import Foundation
import StrataModel
import StrataTestSupport
import Testing

/// Broken checkpoints give a typed error naming the file and tensor — in the library and as a
/// non-zero exit of `strata generate` — never a crash.
@Suite struct BadCheckpointTests {
    /// A tiny checkpoint whose `config.json` is edited by `change`.
    static func withEditedConfig(_ change: (inout [String: Any]) -> Void) throws -> TinyCheckpoint {
        let ckpt = try TinyCheckpoint(.mha)
        let url = URL(fileURLWithPath: ckpt.directory + "/config.json")
        var c = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        change(&c)
        try JSONSerialization.data(withJSONObject: c).write(to: url)
        return ckpt
    }

    @Test func shapeDisagreeingWithConfigNamesFileAndTensor() throws {
        let ckpt = try Self.withEditedConfig { $0["intermediate_size"] = 320 }
        defer { ckpt.remove() }
        let source = try ModelSource(path: ckpt.directory)
        #expect {
            _ = try ModelLoader(source: source, precision: .fp8).loadLayer(0)
        } throws: { e in
            guard case let WeightFileError.shapeMismatch(file, tensor, expected, found)? = e as? WeightFileError else { return false }
            return file.hasSuffix("model.safetensors") && tensor == "model.layers.0.mlp.gate_proj.weight"
                && expected == [320, 128] && found == [256, 128]
        }
    }

    @Test func missingTensorNamesIt() throws {
        let ckpt = try Self.withEditedConfig { $0["num_hidden_layers"] = 5 }
        defer { ckpt.remove() }
        #expect(throws: WeightFileError.self) { try ModelLoader(source: ModelSource(path: ckpt.directory), precision: .f32).loadLayer(4) }
        do { _ = try ModelLoader(source: ModelSource(path: ckpt.directory), precision: .f32).loadLayer(4) } catch {
            #expect("\(error)".contains("model.layers.4.input_layernorm.weight"), "\(error)")
        }
    }

    @Test func unsupportedConfigValueNamesKey() throws {
        let ckpt = try Self.withEditedConfig { $0["rope_scaling"] = ["rope_type": "yarn", "factor": 4.0] }
        defer { ckpt.remove() }
        #expect(throws: ModelConfigError.unsupported(key: "rope_scaling.rope_type", value: "yarn")) {
            _ = try ModelSource(path: ckpt.directory)
        }
    }

    @Test func cliExitsNonZeroOnMissingModel() throws {
        let r = try StrataCLI.run(["generate", "--model", "/nonexistent/model.gguf", "--prompt", "hi"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/nonexistent/model.gguf"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test(.enabled(if: TestAssets.available(TestAssets.smolLM2)))
    func cliExitsNonZeroOnTruncatedGGUF() throws {
        let path = NSTemporaryDirectory() + "strata-truncated-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The real file cut at 40 MB: header and tokenizer intact, later tensors past the end.
        let h = try #require(FileHandle(forReadingAtPath: TestAssets.smolLM2))
        try h.readData(ofLength: 40_000_000).write(to: URL(fileURLWithPath: path))
        let r = try StrataCLI.run(["generate", "--model", path, "--prompt", "hi", "--max-tokens", "1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains(path) && r.stderr.contains("past the end of the file"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func cliExitsNonZeroOnShapeMismatch() throws {
        let ckpt = try Self.withEditedConfig { $0["intermediate_size"] = 320 }
        defer { ckpt.remove() }
        let r = try StrataCLI.run(["generate", "--model", ckpt.directory, "--prompt", "hi"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("mlp.gate_proj.weight") && r.stderr.contains("model.safetensors"), "\(r.stderr)")
    }
}
