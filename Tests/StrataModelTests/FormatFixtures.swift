import Foundation
import StrataModel

/// The checkpoint-format fixtures of `Fixtures/` (made by ops/gen-format-fixtures; see its README).
struct FormatFixtures: Decodable {
    /// Rows of one tensor, decoded by the reference, in `rows` order.
    struct Rows: Decodable {
        let gguf: String
        let canonical: String
        let type: String
        let shape: [Int]
        let rows: [Int]
        let expected: String
    }
    struct SafetensorsTensor: Decodable {
        let name: String
        let dtype: String
        let shape: [Int]
        let expected: String
    }
    struct Safetensors: Decodable {
        let file: String
        let tensors: [SafetensorsTensor]
        let e4m3Table: String
    }
    let smollm2: [Rows]
    let quants: [Rows]
    let safetensors: Safetensors

    static let directory: String = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

    static func load() throws -> FormatFixtures {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/manifest.json"))
        return try JSONDecoder().decode(FormatFixtures.self, from: data)
    }

    /// A fixture file of little-endian f32 values.
    static func floats(_ relative: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + relative))
        return data.withUnsafeBytes { raw in
            (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}

extension StoredTensor {
    /// Logical rows `rows`, each decoded on its own.
    func decode(rows: [Int]) -> [Float] {
        var out = [Float](repeating: .nan, count: rows.count * cols)
        out.withUnsafeMutableBufferPointer { p in
            for (k, r) in rows.enumerated() { dequantizeRows(r, count: 1, into: p.baseAddress! + k * cols) }
        }
        return out
    }
}

/// Bitwise equality of float arrays (NaN equals NaN of the same bits); the first mismatch, if any.
func firstBitMismatch(_ a: [Float], _ b: [Float]) -> String? {
    guard a.count == b.count else { return "count \(a.count) != \(b.count)" }
    for i in a.indices where a[i].bitPattern != b[i].bitPattern {
        return "element \(i): \(a[i]) != \(b[i])"
    }
    return nil
}

/// A fresh temporary directory, removed by the caller's `defer`.
func temporaryDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "strata-formats-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
