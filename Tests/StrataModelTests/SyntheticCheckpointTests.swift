import Foundation
import StrataKernels
import StrataModel
import StrataTestSupport
import Testing

/// `strata synth`'s checkpoints: real names, shapes and config of a DeepSeek shape; an FP8 one
/// loads bit for bit as the weights `strata bench decode` generates in memory.
struct SyntheticCheckpointTests {
    @Test func fp8CheckpointLoadsAsTheInMemoryWeights() throws {
        let dir = NSTemporaryDirectory() + "strata-synth-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pool = ThreadPool(threads: 2)
        // 7B shape, 2 layers, shards small enough that each layer gets its own.
        let o = SyntheticCheckpoint.Options(shape: .deepSeekLLM7B, layers: 2, dtype: .fp8, outDirectory: dir, maxShardBytes: 300 << 20)
        let summary = try SyntheticCheckpoint.write(o, pool: pool)
        #expect(summary.files.filter { $0.hasSuffix(".safetensors") }.count == 4, "\(summary.files)")   // embedding, 2 layers, head
        let source = try ModelSource(path: dir)
        #expect(source.config.layerCount == 2 && source.config.hiddenSize == 4096 && source.config.vocabSize == 102400)
        #expect(source.config.fp8BlockSize == [128, 128])
        let loaded = try ModelLoader(source: source, precision: .fp8, pool: pool).loadLayer(1)
        let made = SyntheticWeights.layer(1, config: SyntheticShape.deepSeekLLM7B.config, pool: pool)
        for (a, b) in [(loaded.q, made.q), (loaded.k, made.k), (loaded.o, made.o), (loaded.down, made.down)] {
            let x = try #require(a as? BlockScaledFP8Matrix), y = try #require(b as? BlockScaledFP8Matrix)
            #expect(x.rows == y.rows && x.cols == y.cols)
            #expect(memcmp(x.codes, y.codes, x.rows * x.cols) == 0)
            #expect(memcmp(x.scales, y.scales, x.scaleRows * x.scaleColumns * 4) == 0)
        }
        #expect(loaded.attentionNorm == [Float](repeating: 1, count: 4096))
        // An E4M3 NaN code (0x7F) in a weight is refused by name (the kernels would read ±480).
        let qName = "model.layers.1.self_attn.q_proj.weight"
        let file = try source.weights.tensor(qName).file
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let headerLength = Int(data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try #require(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        let offset = try #require(((header[qName] as? [String: Any])?["data_offsets"] as? [Int])?.first)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.seek(toOffset: UInt64(8 + headerLength + offset + 4096 + 5))   // row 1, column 5
        try handle.write(contentsOf: Data([0xFF]))
        try handle.close()
        #expect(throws: WeightFileError.malformedTensor(file: file, tensor: qName, reason: "E4M3 NaN code at row 1, column 5")) {
            _ = try ModelLoader(source: try ModelSource(path: dir), precision: .fp8, pool: pool).loadLayer(1)
        }
        // Refuses to write over a non-empty directory.
        #expect(throws: SyntheticCheckpoint.SynthError.outputNotEmpty(dir)) { try SyntheticCheckpoint.write(o, pool: pool) }
    }

    @Test func bf16CheckpointHasTheShapesAndNamesOfTheRealOne() throws {
        let dir = NSTemporaryDirectory() + "strata-synth-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let o = SyntheticCheckpoint.Options(shape: .deepSeekLLM7B, layers: 1, dtype: .bf16, outDirectory: dir)
        _ = try SyntheticCheckpoint.write(o, pool: ThreadPool(threads: 2))
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))) as! [String: Any]
        let names = Set((index["weight_map"] as! [String: String]).keys)
        #expect(names.contains("model.layers.0.self_attn.k_proj.weight") && names.contains("lm_head.weight")
            && names.contains("model.embed_tokens.weight") && !names.contains { $0.hasSuffix("_scale_inv") })
        let source = try ModelSource(path: dir)
        #expect(source.config.kvHeads == 32 && source.config.heads == 32 && source.config.intermediateSize == 11008)
        #expect(source.config.fp8BlockSize == nil)
        let layer = try ModelLoader(source: source, precision: .f32, pool: ThreadPool(threads: 2)).loadLayer(0)
        #expect(layer.k.rows == 4096 && layer.k.cols == 4096)
        // BF16 of code × scale: within bf16 rounding of the FP8 generator's values.
        let made = SyntheticWeights.layer(0, config: SyntheticShape.deepSeekLLM7B.config, pool: ThreadPool(threads: 2))
        let fp8 = try #require(made.up as? BlockScaledFP8Matrix)
        var want = [Float](repeating: 0, count: 4096)
        fp8.dequantizeRows(7, count: 1, into: &want)
        let f32 = try #require(layer.up as? F32Matrix)
        let got = Array(UnsafeBufferPointer(start: f32.values + 7 * 4096, count: 4096))
        #expect(zip(got, want).allSatisfy { abs($0 - $1) <= abs($1) / 256 })
    }
}
