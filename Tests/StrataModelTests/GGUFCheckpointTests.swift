import Foundation
import StrataModel
import StrataTestSupport
import Testing

@Suite struct GGUFCheckpointTests {
    /// Rows of the real SmolLM2 file (Q8_0 embedding, Q4_1 linears, F32 norms, un-permuted Q/K)
    /// equal gguf-py's reference dequantization bit for bit.
    @Test(.enabled(if: TestAssets.available(TestAssets.smolLM2)))
    func smolLM2RowsMatchReference() throws {
        let fixtures = try FormatFixtures.load()
        let ckpt = try GGUFCheckpoint(file: try GGUFFile(path: TestAssets.smolLM2))
        #expect(ckpt.ropePermuted && ckpt.headCount == 9 && ckpt.kvHeadCount == 3)
        for c in fixtures.smollm2 {
            #expect(GGUFCheckpoint.ggufName(for: c.canonical) == c.gguf)
            let t = try ckpt.tensor(c.canonical)
            #expect(t.shape == c.shape, "\(c.canonical)")
            #expect(t.encoding == encoding(c.type), "\(c.canonical)")
            let mismatch = firstBitMismatch(t.decode(rows: c.rows), try FormatFixtures.floats(c.expected))
            #expect(mismatch == nil, "\(c.canonical): \(mismatch ?? "")")
        }
    }

    /// One call over a row range equals row-by-row decoding, for natural and permuted tensors.
    @Test(.enabled(if: TestAssets.available(TestAssets.smolLM2)))
    func rowRangeEqualsSingleRows() throws {
        let ckpt = GGUFCheckpoint(file: try GGUFFile(path: TestAssets.smolLM2), headCount: 9, kvHeadCount: 3)
        for name in [CanonicalName.weight(3, .qProj), CanonicalName.weight(3, .kProj), CanonicalName.weight(3, .upProj)] {
            let t = try ckpt.tensor(name)
            var range = [Float](repeating: .nan, count: 70 * t.cols)
            range.withUnsafeMutableBufferPointer { t.dequantizeRows(60, count: 70, into: $0.baseAddress!) }
            #expect(firstBitMismatch(range, t.decode(rows: Array(60..<130))) == nil, "\(name)")
        }
    }

    /// Every decoded ggml type (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, F16, BF16, F32) in a GGUF written by
    /// gguf-py equals `gguf.quants.dequantize`.
    @Test func everyTypeMatchesReference() throws {
        let fixtures = try FormatFixtures.load()
        let ckpt = GGUFCheckpoint(file: try GGUFFile(path: FormatFixtures.directory + "/quants.gguf"), headCount: 1, kvHeadCount: 1)
        #expect(Set(fixtures.quants.map(\.type)) == ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K", "F16", "BF16", "F32"])
        for c in fixtures.quants {
            let t = try ckpt.tensor(c.canonical)
            #expect(t.shape == c.shape && t.encoding == encoding(c.type), "\(c.canonical)")
            let mismatch = firstBitMismatch(t.dequantized(), try FormatFixtures.floats(c.expected))
            #expect(mismatch == nil, "\(c.type): \(mismatch ?? "")")
        }
    }

    @Test func mapsCanonicalNames() {
        let cases: [(String, String?)] = [
            (CanonicalName.embedTokens, "token_embd.weight"),
            (CanonicalName.finalNorm, "output_norm.weight"),
            (CanonicalName.lmHead, "output.weight"),
            (CanonicalName.weight(7, .qProj), "blk.7.attn_q.weight"),
            (CanonicalName.bias(7, .kProj), "blk.7.attn_k.bias"),
            (CanonicalName.weight(0, .vProj), "blk.0.attn_v.weight"),
            (CanonicalName.weight(12, .oProj), "blk.12.attn_output.weight"),
            (CanonicalName.weight(1, .gateProj), "blk.1.ffn_gate.weight"),
            (CanonicalName.weight(1, .upProj), "blk.1.ffn_up.weight"),
            (CanonicalName.weight(1, .downProj), "blk.1.ffn_down.weight"),
            (CanonicalName.weight(2, .inputNorm), "blk.2.attn_norm.weight"),
            (CanonicalName.weight(2, .postAttentionNorm), "blk.2.ffn_norm.weight"),
            ("model.layers.x.mlp.up_proj.weight", nil),
            ("model.layers.+1.mlp.up_proj.weight", nil),
            ("model.layers.1.mlp.experts.weight", nil),
        ]
        for (canonical, gguf) in cases { #expect(GGUFCheckpoint.ggufName(for: canonical) == gguf, "\(canonical)") }
        #expect(CanonicalName.layer(4, "self_attn.q_proj.weight") == "model.layers.4.self_attn.q_proj.weight")
    }

    /// A tiny Q/K with known rows: stored row h*hd + 2i + j must come back as HF row h*hd + j*(hd/2) + i,
    /// for weights and biases, and not at all for a NEOX-rope architecture (qwen2).
    @Test func unpermutesQueryAndKeyRows() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let heads = 2, kvHeads = 1, hd = 4, cols = 3
        // Stored row s has values s*10 + c.
        func stored(_ rows: Int) -> [Float] { (0..<rows * cols).map { Float($0 / cols * 10 + $0 % cols) } }
        var w = GGUFWriter(architecture: "llama")
        w.addF32("blk.0.attn_q.weight", shape: [heads * hd, cols], stored(heads * hd))
        w.addF32("blk.0.attn_k.weight", shape: [kvHeads * hd, cols], stored(kvHeads * hd))
        w.addF32("blk.0.attn_q.bias", shape: [heads * hd], (0..<heads * hd).map(Float.init))
        w.addF32("blk.0.attn_v.weight", shape: [kvHeads * hd, cols], stored(kvHeads * hd))
        try w.write(to: dir + "/qk.gguf")
        let file = try GGUFFile(path: dir + "/qk.gguf")
        let ckpt = GGUFCheckpoint(file: file, headCount: heads, kvHeadCount: kvHeads)
        func hfToStored(_ r: Int) -> Int {
            let h = r / hd, j = (r % hd) / (hd / 2), i = r % (hd / 2)
            return h * hd + 2 * i + j
        }
        let q = try ckpt.tensor(CanonicalName.weight(0, .qProj)).dequantized()
        #expect(q == (0..<heads * hd).flatMap { r in (0..<cols).map { Float(hfToStored(r) * 10 + $0) } })
        let k = try ckpt.tensor(CanonicalName.weight(0, .kProj)).dequantized()
        #expect(k == (0..<kvHeads * hd).flatMap { r in (0..<cols).map { Float(hfToStored(r) * 10 + $0) } })
        let b = try ckpt.tensor(CanonicalName.bias(0, .qProj)).dequantized()
        #expect(b == (0..<heads * hd).map { Float(hfToStored($0)) })
        #expect(try ckpt.tensor(CanonicalName.weight(0, .vProj)).dequantized() == stored(kvHeads * hd))
        let qt = try ckpt.tensor(CanonicalName.weight(0, .qProj))
        for r in 0..<qt.rows {  // rowBytes follows the same un-permutation
            #expect(Array(qt.rowBytes(r)) == Array(UnsafeRawBufferPointer(rebasing: qt.bytes[hfToStored(r) * 12..<hfToStored(r) * 12 + 12])))
        }

        let neox = GGUFCheckpoint(file: file, headCount: heads, kvHeadCount: kvHeads, ropePermuted: false)
        #expect(try neox.tensor(CanonicalName.weight(0, .qProj)).dequantized() == stored(heads * hd))
        var qwen = w
        qwen.metadata = [("general.architecture", .string("qwen2"))]
        try qwen.write(to: dir + "/qwen.gguf")
        #expect(!GGUFCheckpoint(file: try GGUFFile(path: dir + "/qwen.gguf"), headCount: heads, kvHeadCount: kvHeads).ropePermuted)
    }

    @Test func typedErrors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = GGUFWriter()
        w.tensors.append(.init(name: "blk.0.ffn_up.weight", typeID: GGMLType.q3_K.rawValue, ggmlShape: [256, 1], bytes: .init(repeating: 0, count: 110)))
        w.tensors.append(.init(name: "blk.0.ffn_gate.weight", typeID: 99, ggmlShape: [4], bytes: .init(repeating: 0, count: 16)))
        w.tensors.append(.init(name: "blk.0.ffn_down.weight", typeID: 0, ggmlShape: [4, 4], bytes: .init(repeating: 0, count: 64)))
        w.addF32("blk.0.attn_q.weight", shape: [6, 2], .init(repeating: 0, count: 12))
        let path = dir + "/bad.gguf"
        var bytes = w.encode()
        bytes.removeLast(32)  // the last tensor (attn_q) now runs past the end of the file
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: WeightFileError.missingMetadata(file: path, key: "llama.attention.head_count")) {
            try GGUFCheckpoint(file: GGUFFile(path: path))
        }
        let ckpt = GGUFCheckpoint(file: try GGUFFile(path: path), headCount: 4, kvHeadCount: 1)
        #expect(throws: WeightFileError.missingTensor(file: path, tensor: CanonicalName.embedTokens)) {
            try ckpt.tensor(CanonicalName.embedTokens)
        }
        #expect(!ckpt.contains(CanonicalName.embedTokens) && ckpt.contains(CanonicalName.weight(0, .upProj)))
        #expect(throws: WeightFileError.unsupportedDType(file: path, tensor: CanonicalName.weight(0, .upProj), dtype: "ggml q3_K")) {
            try ckpt.tensor(CanonicalName.weight(0, .upProj))
        }
        #expect(throws: WeightFileError.unsupportedDType(file: path, tensor: "blk.0.ffn_gate.weight", dtype: "ggml type 99")) {
            try ckpt.tensor(CanonicalName.weight(0, .gateProj))
        }
        #expect(try ckpt.tensor(CanonicalName.weight(0, .downProj)).shape == [4, 4])
        let err = #expect(throws: WeightFileError.self) { try ckpt.tensor(CanonicalName.weight(0, .qProj)) }
        guard case .outOfBounds(path, "blk.0.attn_q.weight", _, 48, bytes.count) = err else {
            Issue.record("expected outOfBounds, got \(String(describing: err))")
            return
        }
    }

    @Test func refusesHeadsThatDoNotDivideRows() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = GGUFWriter()
        w.addF32("blk.0.attn_q.weight", shape: [6, 2], .init(repeating: 0, count: 12))
        try w.write(to: dir + "/q.gguf")
        let ckpt = GGUFCheckpoint(file: try GGUFFile(path: dir + "/q.gguf"), headCount: 4, kvHeadCount: 1)
        let err = #expect(throws: WeightFileError.self) { try ckpt.tensor(CanonicalName.weight(0, .qProj)) }
        guard case .malformedTensor(_, CanonicalName.weight(0, .qProj), _) = err else {
            Issue.record("expected malformedTensor, got \(String(describing: err))")
            return
        }
    }
}

/// The encoding a fixture's type name stands for.
func encoding(_ type: String) -> TensorEncoding? {
    switch type {
    case "F32": return .f32
    case "F16": return .f16
    case "BF16": return .bf16
    case "Q8_0": return .ggml(.q8_0)
    case "Q4_0": return .ggml(.q4_0)
    case "Q4_1": return .ggml(.q4_1)
    case "Q5_0": return .ggml(.q5_0)
    case "Q5_1": return .ggml(.q5_1)
    case "Q4_K": return .ggml(.q4_K)
    case "Q5_K": return .ggml(.q5_K)
    case "Q6_K": return .ggml(.q6_K)
    default: return nil
    }
}
