import Foundation
import StrataKernels
import StrataModel
import Testing

/// Synthetic weights and `strata bench decode` (no timing assertions).
@Suite struct DecodeBenchTests {
    @Test func shapesMatchThePublishedConfigs() {
        let c7 = SyntheticShape.deepSeekLLM7B.config, c67 = SyntheticShape.deepSeekLLM67B.config
        #expect([c7.hiddenSize, c7.intermediateSize, c7.layerCount, c7.heads, c7.kvHeads, c7.headDim] as [Int] == [4096, 11008, 30, 32, 32, 128])
        #expect([c67.hiddenSize, c67.intermediateSize, c67.layerCount, c67.heads, c67.kvHeads, c67.headDim] as [Int] == [8192, 22016, 95, 64, 8, 128])
        // layerBytes agrees with the bytes a generated layer actually holds.
        let layer = SyntheticWeights.layer(0, config: c7, pool: ThreadPool(threads: 2))
        #expect(layer.byteCount == SyntheticShape.deepSeekLLM7B.layerBytes)
        #expect(DecodeBench.Options.defaultLayers(.deepSeekLLM7B) == 30)
        #expect(DecodeBench.Options.defaultLayers(.deepSeekLLM67B) == 9)
    }

    @Test func syntheticMatrixIsDeterministicFiniteAndThreadCountFree() {
        // 300 rows: a partial last 128-row block.
        let a = SyntheticWeights.matrix(rows: 300, cols: 256, seed: 7, pool: ThreadPool(threads: 1))
        let b = SyntheticWeights.matrix(rows: 300, cols: 256, seed: 7, pool: ThreadPool(threads: 3))
        let c = SyntheticWeights.matrix(rows: 300, cols: 256, seed: 8, pool: ThreadPool(threads: 1))
        let n = 300 * 256
        let codes = { (m: BlockScaledFP8Matrix) in Array(UnsafeBufferPointer(start: m.codes, count: n)) }
        #expect(codes(a) == codes(b))
        #expect(codes(a) != codes(c))
        #expect(!codes(a).contains { $0 & 0x7F == 0x7F }, "a NaN code")
        #expect(Set(codes(a)).count > 100, "codes should vary")
        let w = [Float](unsafeUninitializedCapacity: n) { buf, count in a.dequantizeRows(0, count: 300, into: buf.baseAddress!); count = n }
        let rms = (w.reduce(0) { $0 + $1 * $1 } / Float(n)).squareRoot()
        // ≈ 1/√fan-in: codes RMS ≈ 0.48, scale 2/√256.
        #expect(rms > 0.5 / 16 && rms < 2 / 16, "weight RMS \(rms)")
    }

    @Test func oneLayerRunAndReportsAParseableRatio() throws {
        var o = DecodeBench.Options(shape: .deepSeekLLM7B, layers: 1, threads: 2)
        o.tokens = 2
        o.readBytes = 16 << 20
        var lines: [String] = []
        try DecodeBench.run(o) { lines.append($0) }
        let last = try #require(lines.last)
        #expect(last.hasPrefix("decode_bandwidth_ratio: "))
        let ratio = try #require(Double(last.dropFirst("decode_bandwidth_ratio: ".count)))
        #expect(ratio > 0 && ratio.isFinite)
    }

    @Test func badOptionsAreRejectedNamingTheOption() {
        var o = DecodeBench.Options(shape: .deepSeekLLM67B, layers: 96, threads: 1)
        #expect(throws: DecodeBenchError.invalid(option: "layers", value: 96, reason: "must be in 1...95 for deepseek-llm-67b")) { try o.validate() }
        o.layers = 1
        o.tokens = 0
        #expect(throws: DecodeBenchError.invalid(option: "tokens", value: 0, reason: "must be at least 1")) { try o.validate() }
    }
}

/// `strata bench quantize` (no timing assertions): it runs, its fast and reference codes agree,
/// and its last line is a parseable ratio.
@Suite struct QuantizeBenchTests {
    @Test func smallRunAgreesWithTheReferenceAndReportsARatio() throws {
        var o = QuantizeBench.Options(threads: 2)
        o.rows = 256; o.cols = 384; o.passes = 1; o.referenceBlocks = 6
        var lines: [String] = []
        QuantizeBench.run(o) { lines.append($0) }
        #expect(lines.contains { $0.hasPrefix("scalar reference") && $0.contains("equal the fast path's") }, "\(lines)")
        let last = try #require(lines.last)
        #expect(last.hasPrefix("quantize_speedup_vs_reference: "))
        let ratio = try #require(Double(last.dropFirst("quantize_speedup_vs_reference: ".count)))
        #expect(ratio > 0 && ratio.isFinite)
    }
}
