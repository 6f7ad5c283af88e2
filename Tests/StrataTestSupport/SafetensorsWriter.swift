import Foundation
import StrataModel

/// One tensor to write: a safetensors dtype string, a row-major shape and its little-endian bytes.
/// The dtype is free text so tests can write dtypes Strata refuses (`I64`, `F8_E5M2`).
public struct SafetensorsTensor: Sendable {
    public var name: String
    public var dtype: String
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(name: String, dtype: String, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// F32 values.
    public static func f32(_ name: String, shape: [Int], _ values: [Float]) -> Self {
        Self(name: name, dtype: "F32", shape: shape, bytes: littleEndian(values.map(\.bitPattern)))
    }

    /// F16, rounded to nearest even.
    public static func f16(_ name: String, shape: [Int], _ values: [Float]) -> Self {
        Self(name: name, dtype: "F16", shape: shape, bytes: littleEndian(values.map { Float16($0).bitPattern }))
    }

    /// BF16, rounded to nearest even (NaN stays NaN).
    public static func bf16(_ name: String, shape: [Int], _ values: [Float]) -> Self {
        Self(name: name, dtype: "BF16", shape: shape, bytes: littleEndian(values.map(bf16Bits)))
    }

    /// Raw E4M3 codes.
    public static func e4m3(_ name: String, shape: [Int], codes: [UInt8]) -> Self {
        Self(name: name, dtype: "F8_E4M3", shape: shape, bytes: codes)
    }

    /// An FP8 linear in the DeepSeek-V3 layout: `<name>` E4M3 `[out, in]` and `<name>_scale_inv` F32
    /// `[ceil(out/128), ceil(in/128)]`, with scale = amax/448 per 128×128 block (1 for an all-zero
    /// block) and codes = round-to-nearest-even of value/scale. `values` is row-major `[out, in]`.
    public static func fp8Linear(_ name: String, out: Int, in cols: Int, _ values: [Float]) -> [Self] {
        precondition(values.count == out * cols, "fp8Linear: \(values.count) values for [\(out), \(cols)]")
        let b = 128, sr = (out + b - 1) / b, sc = (cols + b - 1) / b
        var scales = [Float](repeating: 1, count: sr * sc)
        for br in 0..<sr {
            for bc in 0..<sc {
                var amax: Float = 0
                for r in br * b..<min(out, br * b + b) {
                    for c in bc * b..<min(cols, bc * b + b) { amax = max(amax, abs(values[r * cols + c])) }
                }
                if amax > 0 { scales[br * sc + bc] = amax / 448 }
            }
        }
        var codes = [UInt8](repeating: 0, count: values.count)
        for r in 0..<out {
            for c in 0..<cols { codes[r * cols + c] = E4M3Encoder.encode(values[r * cols + c] / scales[(r / b) * sc + c / b]) }
        }
        return [e4m3(name, shape: [out, cols], codes: codes), f32(name + "_scale_inv", shape: [sr, sc], scales)]
    }

    static func bf16Bits(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        if x.isNaN { return UInt16(u >> 16) | 0x40 }
        return UInt16((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }

    static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }
}

/// Writes safetensors checkpoints (format: huggingface/safetensors) for tests: single files and
/// sharded directories with `model.safetensors.index.json`.
public enum SafetensorsWriter {
    /// The bytes of a safetensors file holding `tensors` in order (header padded to 8 bytes).
    public static func encode(_ tensors: [SafetensorsTensor], metadata: [String: String] = [:]) -> [UInt8] {
        var entries: [String] = []
        if !metadata.isEmpty {
            let kv = metadata.sorted { $0.key < $1.key }.map { "\(json($0.key)):\(json($0.value))" }
            entries.append("\"__metadata__\":{\(kv.joined(separator: ","))}")
        }
        var offset = 0
        for t in tensors {
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(json(t.name)):{\"dtype\":\(json(t.dtype)),\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var out = SafetensorsTensor.littleEndian([UInt64(header.count)])
        out += header
        for t in tensors { out += t.bytes }
        return out
    }

    /// Writes one safetensors file.
    public static func write(_ tensors: [SafetensorsTensor], to path: String, metadata: [String: String] = [:]) throws {
        try Data(encode(tensors, metadata: metadata)).write(to: URL(fileURLWithPath: path))
    }

    /// Writes `shards` as `model-0000k-of-0000n.safetensors` into `directory` (created if needed),
    /// plus `model.safetensors.index.json` whose `weight_map` names each tensor's shard.
    public static func writeSharded(_ shards: [[SafetensorsTensor]], to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var weightMap: [String] = []
        var total = 0
        for (k, tensors) in shards.enumerated() {
            let file = String(format: "model-%05d-of-%05d.safetensors", k + 1, shards.count)
            try write(tensors, to: directory + "/" + file, metadata: ["format": "pt"])
            for t in tensors {
                weightMap.append("\(json(t.name)):\(json(file))")
                total += t.bytes.count
            }
        }
        let index = "{\"metadata\":{\"total_size\":\(total)},\"weight_map\":{\(weightMap.joined(separator: ","))}}\n"
        try Data(index.utf8).write(to: URL(fileURLWithPath: directory + "/model.safetensors.index.json"))
    }

    /// A JSON string literal (the writer Strata ships quotes names the same way).
    static func json(_ s: String) -> String { SafetensorsFileWriter.quote(s) }
}

/// f32 → E4M3 (`float8_e4m3fn`) by exhaustive nearest search: slow, obviously right, for tests.
public enum E4M3Encoder {
    /// The value of each non-negative, non-NaN code 0x00…0x7E.
    static let magnitudes: [Float] = (0..<127).map { c in
        let e = c >> 3, m = c & 7
        return e == 0 ? Float(m) * 0x1p-9 : (1 + Float(m) / 8) * Float(sign: .plus, exponent: e - 7, significand: 1)
    }

    /// The nearest code, ties to the even code; saturates at ±448; NaN → 0x7F.
    public static func encode(_ x: Float) -> UInt8 {
        if x.isNaN { return 0x7F }
        let a = min(abs(x), 448)
        var best = 0
        for c in 1..<magnitudes.count {
            let d = abs(magnitudes[c] - a), bd = abs(magnitudes[best] - a)
            if d < bd || (d == bd && c & 1 == 0) { best = c }
        }
        return UInt8(best) | (x.sign == .minus ? 0x80 : 0)
    }
}
