import Foundation
import StrataModel
import StrataTestSupport
import Testing

@Suite struct StoredTensorTests {
    /// Wraps `bytes` as a tensor and runs `body` while they are alive.
    func withTensor<R>(
        _ bytes: [UInt8], shape: [Int], _ encoding: TensorEncoding, scales: [Float]? = nil,
        rowOrder: StoredRowOrder = .natural, _ body: (StoredTensor) throws -> R
    ) throws -> R {
        try bytes.withUnsafeBytes { raw in
            let scaleBytes = scales.map { s in s.withUnsafeBytes { [UInt8]($0) } } ?? []
            return try scaleBytes.withUnsafeBytes { sraw in
                let t = try StoredTensor(
                    name: "t", file: "mem", shape: shape, encoding: encoding, bytes: raw,
                    blockScales: scales == nil ? nil : sraw, rowOrder: rowOrder)
                return try body(t)
            }
        }
    }

    /// All 256 E4M3 codes decode to ml_dtypes' `float8_e4m3fn` values (NaN at 0x7F/0xFF).
    @Test func e4m3CodesMatchReference() throws {
        let expected = try FormatFixtures.floats(try FormatFixtures.load().safetensors.e4m3Table)
        let got = try withTensor((0...255).map(UInt8.init), shape: [256], .e4m3) { $0.dequantized() }
        for c in 0..<256 {
            #expect(got[c].bitPattern == expected[c].bitPattern || (got[c].isNaN && expected[c].isNaN), "code \(c)")
        }
        #expect(got[0x7F].isNaN && got[0xFF].isNaN && got[0x7E] == 448 && got[0x01] == 0x1p-9)
    }

    /// Each 128×128 block of an E4M3 weight is multiplied by its own scale, at ragged edges too.
    @Test func e4m3BlockScales() throws {
        let rows = 130, cols = 257
        let codes = [UInt8](repeating: 0x38, count: rows * cols)  // 1.0
        let scales: [Float] = [1, 2, 3, 4, 5, 6]  // [2, 3]
        let out = try withTensor(codes, shape: [rows, cols], .e4m3, scales: scales) { $0.dequantized() }
        for r in [0, 127, 128, 129] {
            for c in [0, 127, 128, 255, 256] { #expect(out[r * cols + c] == scales[(r / 128) * 3 + c / 128], "[\(r), \(c)]") }
        }
    }

    /// Decoding any row range equals the same rows of a whole-tensor decode (sizes 1, 2, 31, 32, 33).
    @Test func rowRangesAgree() throws {
        let fixtures = try FormatFixtures.load()
        let ckpt = GGUFCheckpoint(file: try GGUFFile(path: FormatFixtures.directory + "/quants.gguf"), headCount: 1, kvHeadCount: 1)
        for c in fixtures.quants {
            let t = try ckpt.tensor(c.canonical)
            let all = t.dequantized()
            for (start, count) in [(0, 1), (1, 2), (2, 1), (0, 3)] {
                let part = t.decode(rows: Array(start..<start + count))
                #expect(Array(all[start * t.cols..<(start + count) * t.cols]) == part, "\(c.type) rows \(start)+\(count)")
            }
        }
        for n in [1, 2, 31, 32, 33] {
            let values = (0..<n * 3).map { Float($0) - 7.5 }
            let bf16 = values.flatMap { v in [UInt8((v.bitPattern >> 16) & 0xFF), UInt8(v.bitPattern >> 24)] }
            let out = try withTensor(bf16, shape: [n, 3], .bf16) { t in t.decode(rows: Array(0..<n)) }
            #expect(out == values, "bf16 \(n) rows")
        }
    }

    @Test func rejectsInconsistentTensors() {
        func isMalformed(_ body: () throws -> Void) -> Bool {
            do { try body() } catch WeightFileError.malformedTensor(file: "mem", tensor: "t", _) { return true } catch { return false }
            return false
        }
        #expect(isMalformed { try withTensor([0, 0, 0], shape: [1], .f32) { _ in } })
        #expect(isMalformed { try withTensor(.init(repeating: 0, count: 9), shape: [16], .ggml(.q4_0)) { _ in } })
        #expect(isMalformed { try withTensor([0, 0], shape: [1, 2], .e4m3, scales: [1, 2]) { _ in } })
        #expect(isMalformed { try withTensor(.init(repeating: 0, count: 8), shape: [2], .f32, scales: [1]) { _ in } })
        #expect(isMalformed { try withTensor(.init(repeating: 0, count: 24), shape: [6, 1], .f32, rowOrder: .ropeInterleaved(headDim: 4)) { _ in } })
        #expect(isMalformed { try withTensor([], shape: [-1], .f32) { _ in } })
        #expect(!isMalformed { try withTensor(.init(repeating: 0, count: 18), shape: [1, 32], .ggml(.q4_0)) { _ in } })
    }

    /// The rotary un-permutation maps each head's rows onto themselves, one to one.
    @Test func ropeRowOrderIsAPermutation() {
        for (heads, hd) in [(9, 64), (3, 64), (2, 4), (1, 2), (32, 128)] {
            let order = StoredRowOrder.ropeInterleaved(headDim: hd)
            let stored = (0..<heads * hd).map(order.storedRow)
            #expect(Set(stored).count == heads * hd && stored.allSatisfy { $0 >= 0 && $0 < heads * hd })
            #expect((0..<heads * hd).allSatisfy { stored[$0] / hd == $0 / hd })
        }
        #expect(StoredRowOrder.ropeInterleaved(headDim: 8).storedRow(4) == 1)  // HF row j=1,i=0 ← stored 2*0+1
    }
}
