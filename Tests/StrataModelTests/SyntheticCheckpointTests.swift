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
