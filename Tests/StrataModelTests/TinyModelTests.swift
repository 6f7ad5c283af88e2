import Foundation
import StrataKernels
import StrataModel
import StrataTestSupport
import Testing

/// Forward-pass tests on tiny random-weight checkpoints written by the test.
@Suite struct TinyModelTests {
    static let prompt = [1, 17, 42, 99, 3, 250, 7, 7, 7, 128, 64, 5]

    static func model(_ ckpt: TinyCheckpoint, _ p: WeightPrecision, tables: TablePrecision? = nil) throws -> LocalModel {
        try LocalModel(source: ModelSource(path: ckpt.directory), precision: p, tablePrecision: tables, threads: 2)
    }

    /// Logits of every prompt position, (T, vocab).
    static func logits(_ m: LocalModel, _ tokens: [Int]) throws -> [Float] {
        try m.openSession(9, sampling: .greedy, prompt: [])
        defer { m.closeSession(9) }
        return try m.logits(session: 9, tokens: tokens)
    }

    @Test(arguments: TinyCheckpoint.Variant.allCases)
    func fp8StaysCloseToF32(_ variant: TinyCheckpoint.Variant) throws {
        let ckpt = try TinyCheckpoint(variant)
        defer { ckpt.remove() }
        // Tables (embedding, head) in f32 on both sides: this isolates the FP8 linears.
        let ref = try Self.logits(Self.model(ckpt, .f32), Self.prompt)
        let fp8 = try Self.logits(Self.model(ckpt, .fp8, tables: .f32), Self.prompt)
        let err = relativeRMS(fp8, ref)
        // FP8 checkpoints compute the same weights in both paths: only summation order differs.
        // Re-quantized f32/bf16 weights carry E4M3's 3-bit mantissa (measured 6.6–7.4% here).
        let bound: Float = variant == .fp8 ? 1e-5 : 0.1
        #expect(err < bound, "\(variant): relative RMS error of FP8 logits \(err) ≥ \(bound)")
    }

    @Test(arguments: TinyCheckpoint.Variant.allCases)
    func prefillEqualsStepByStepDecode(_ variant: TinyCheckpoint.Variant) throws {
        let ckpt = try TinyCheckpoint(variant)
        defer { ckpt.remove() }
        let m = try Self.model(ckpt, .fp8)
        let whole = try Self.logits(m, Self.prompt)
        try m.openSession(3, sampling: .greedy, prompt: [])
        var stepwise: [Float] = []
        for t in Self.prompt { stepwise += try m.logits(session: 3, tokens: [t]) }
        m.closeSession(3)
        #expect(whole == stepwise, "\(variant): prefill rows differ from one-token decode steps")
    }

    @Test(arguments: [TinyCheckpoint.Variant.mha, .qwen2, .fp8])
    func splitStacksAreBitIdentical(_ variant: TinyCheckpoint.Variant) throws {
        let ckpt = try TinyCheckpoint(variant)
        defer { ckpt.remove() }
        let loader = ModelLoader(source: try ModelSource(path: ckpt.directory), precision: .fp8)
        let embedding = try loader.loadEmbedding()
        let whole = try loader.loadStack(0..<ckpt.layers)
        let pool = ThreadPool(threads: 2)
        for k in 1..<ckpt.layers {
            let first = try loader.loadStack(0..<k), second = try loader.loadStack(k..<ckpt.layers)
            let wc = whole.makeCache(), c1 = first.makeCache(), c2 = second.makeCache()
            // Prefill, then three single-token decode steps.
            for chunk in [Self.prompt, [5], [77], [200]] {
                var a = embed(embedding, chunk, ckpt.hidden), b = a
                a.withUnsafeMutableBufferPointer { whole.forward($0.baseAddress!, entries: [BatchEntry(cache: wc, count: chunk.count)], pool: pool) }
                b.withUnsafeMutableBufferPointer {
                    first.forward($0.baseAddress!, entries: [BatchEntry(cache: c1, count: chunk.count)], pool: pool)
                    second.forward($0.baseAddress!, entries: [BatchEntry(cache: c2, count: chunk.count)], pool: pool)
                }
                #expect(a == b, "\(variant): [0,\(ckpt.layers)) ≠ [0,\(k)) + [\(k),\(ckpt.layers)) for chunk of \(chunk.count)")
            }
        }
    }

    @Test(arguments: [TablePrecision.f16, .fp8])
    func reducedPrecisionTablesStayClose(_ tables: TablePrecision) throws {
        let ckpt = try TinyCheckpoint(.mha)
        defer { ckpt.remove() }
        let ref = try Self.logits(Self.model(ckpt, .f32), Self.prompt)
        let got = try Self.logits(Self.model(ckpt, .f32, tables: tables), Self.prompt)
        let err = relativeRMS(got, ref), bound: Float = tables == .f16 ? 2e-3 : 0.1
        #expect(err < bound, "\(tables) tables: relative RMS error \(err) ≥ \(bound)")
    }

    @Test func fp8CheckpointPassesThroughExactly() throws {
        let ckpt = try TinyCheckpoint(.fp8)
        defer { ckpt.remove() }
        let source = try ModelSource(path: ckpt.directory)
        let layer = try ModelLoader(source: source, precision: .fp8).loadLayer(1)
        let stored = try source.weights.tensor(CanonicalName.weight(1, .qProj))
        let m = try #require(layer.q as? BlockScaledFP8Matrix)
        #expect(Array(UnsafeBufferPointer(start: m.codes, count: m.rows * m.cols)) == Array(stored.bytes))
        let scales = try #require(stored.blockScales)
        #expect((0..<(m.scaleRows * m.scaleColumns)).allSatisfy { m.scales[$0] == scales.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) })
    }

    @Test func batchOfSessionsEqualsEachAlone() throws {
        let ckpt = try TinyCheckpoint(.gqaTied)
        defer { ckpt.remove() }
        let m = try Self.model(ckpt, .fp8)
        let prompts = [[1, 2, 3], [9, 8, 7, 6, 5], [100]]
        var alone: [SampledToken] = []
        for (i, p) in prompts.enumerated() {
            try m.openSession(UInt64(10 + i), sampling: .greedy, prompt: p)
            alone.append(try m.step([SequenceStep(session: UInt64(10 + i), tokens: p)])[0])
            m.closeSession(UInt64(10 + i))
        }
        for i in prompts.indices { try m.openSession(UInt64(20 + i), sampling: .greedy, prompt: prompts[i]) }
        let batched = try m.step(prompts.indices.map { SequenceStep(session: UInt64(20 + $0), tokens: prompts[$0]) })
        #expect(batched == alone)
    }
}

func embed(_ e: EmbeddingTable, _ tokens: [Int], _ hidden: Int) -> [Float] {
    var x = [Float](repeating: 0, count: tokens.count * hidden)
    x.withUnsafeMutableBufferPointer { p in for (i, t) in tokens.enumerated() { e.lookup(t, into: p.baseAddress! + i * hidden) } }
    return x
}

/// ‖a − b‖ / ‖b‖.
func relativeRMS(_ a: [Float], _ b: [Float]) -> Float {
    var num: Float = 0, den: Float = 0
    for i in b.indices { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i] }
    return (num / den).squareRoot()
}
