import Foundation
import StrataModel
import StrataTestSupport
import Testing

@Suite struct SafetensorsCheckpointTests {
    /// A file written by the `safetensors` library (F32, F16, BF16, F8_E4M3 + weight_scale_inv)
    /// decodes to the values numpy/ml_dtypes give, bit for bit.
    @Test func readsReferenceWrittenFile() throws {
        let fixtures = try FormatFixtures.load()
        let ckpt = try SafetensorsCheckpoint(path: FormatFixtures.directory + "/" + fixtures.safetensors.file)
        #expect(ckpt.metadata["format"] == "pt")
        for c in fixtures.safetensors.tensors {
            let t = try ckpt.tensor(c.name)
            #expect(t.shape == c.shape, "\(c.name)")
            let mismatch = firstBitMismatch(t.dequantized(), try FormatFixtures.floats(c.expected))
            #expect(mismatch == nil, "\(c.name) (\(c.dtype)): \(mismatch ?? "")")
        }
        let fp8 = try ckpt.tensor("model.layers.0.mlp.down_proj.weight")
        #expect(fp8.encoding == .e4m3 && fp8.blockScales?.count == 2 * 2 * 4)
    }

    /// SafetensorsWriter output reads back through SafetensorsCheckpoint: every dtype, and FP8 linears
    /// whose scales and codes reproduce the values within E4M3 rounding.
    @Test func writerRoundTrips() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let values: [Float] = (0..<24).map { Float($0) * 0.375 - 4 }
        let w: [Float] = (0..<130 * 5).map { sin(Float($0)) * 3 }
        let tensors = [
            SafetensorsTensor.f32("a", shape: [4, 6], values),
            .f16("b", shape: [24], values),
            .bf16("c", shape: [2, 3, 4], values),
        ] + SafetensorsTensor.fp8Linear("d.weight", out: 130, in: 5, w)
        try SafetensorsWriter.write(tensors, to: dir + "/x.safetensors", metadata: ["format": "pt"])
        let ckpt = try SafetensorsCheckpoint(path: dir + "/x.safetensors")
        #expect(ckpt.tensorNames == ["a", "b", "c", "d.weight", "d.weight_scale_inv"])
        for name in ["a", "b", "c"] { #expect(try ckpt.tensor(name).dequantized() == values, "\(name)") }
        let c = try ckpt.tensor("c")
        #expect(c.encoding == .bf16 && c.rows == 6 && c.cols == 4)
        let d = try ckpt.tensor("d.weight")
        #expect(d.shape == [130, 5] && d.blockScales?.count == 2 * 1 * 4)
        let back = d.dequantized()
        for i in w.indices { #expect(abs(back[i] - w[i]) <= abs(w[i]) / 16 + 1e-5, "d[\(i)]") }
    }

    /// A sharded directory (index + shards) and a directory with model.safetensors both open.
    @Test func opensDirectories() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SafetensorsWriter.writeSharded([
            [.f32("model.norm.weight", shape: [2], [1, 2])] + SafetensorsTensor.fp8Linear("lm_head.weight", out: 3, in: 2, [1, 2, 3, 4, 5, 448]),
            [.f32("model.embed_tokens.weight", shape: [3, 2], [6, 5, 4, 3, 2, 1])],
        ], to: dir + "/sharded")
        let sharded = try SafetensorsCheckpoint(path: dir + "/sharded")
        #expect(sharded.files.count == 2)
        #expect(try sharded.tensor(CanonicalName.embedTokens).dequantized() == [6, 5, 4, 3, 2, 1])
        #expect(try sharded.tensor(CanonicalName.lmHead).dequantized() == [1, 2, 3, 4, 5, 448])
        #expect(sharded.contains(CanonicalName.finalNorm) && !sharded.contains("model.layers.0.input_layernorm.weight"))

        try FileManager.default.createDirectory(atPath: dir + "/single", withIntermediateDirectories: true)
        try SafetensorsWriter.write([.f32("model.norm.weight", shape: [2], [1, 2])], to: dir + "/single/model.safetensors")
        #expect(try SafetensorsCheckpoint(path: dir + "/single").tensor(CanonicalName.finalNorm).dequantized() == [1, 2])
    }
}
