import Foundation

/// Writes minimal GGUF v3 files for tests (format: ggml/docs/gguf.md): string/u32/f32 metadata and
/// raw tensor data. Tensor shapes are in ggml order (innermost first); bytes are written as given,
/// so tests can write any type id, including ones Strata refuses.
public struct GGUFWriter {
    public enum Value { case string(String), u32(UInt32), f32(Float) }
    public struct Tensor {
        public var name: String
        public var typeID: UInt32
        public var ggmlShape: [Int]
        public var bytes: [UInt8]
        public init(name: String, typeID: UInt32, ggmlShape: [Int], bytes: [UInt8]) {
            self.name = name
            self.typeID = typeID
            self.ggmlShape = ggmlShape
            self.bytes = bytes
        }
    }

    public var metadata: [(String, Value)] = []
    public var tensors: [Tensor] = []
    public static let alignment = 32

    public init(architecture: String = "llama") {
        metadata.append(("general.architecture", .string(architecture)))
    }

    /// An F32 tensor from row-major values; `shape` is HF order (outermost first).
    public mutating func addF32(_ name: String, shape: [Int], _ values: [Float]) {
        tensors.append(Tensor(name: name, typeID: 0, ggmlShape: shape.reversed(), bytes: SafetensorsTensor.littleEndian(values.map(\.bitPattern))))
    }

    /// The file's bytes.
    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { out += SafetensorsTensor.littleEndian([v]) }
        func u64(_ v: UInt64) { out += SafetensorsTensor.littleEndian([v]) }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        u32(0x4655_4747)
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (k, v) in metadata {
            str(k)
            switch v {
            case let .string(s): u32(8); str(s)
            case let .u32(i): u32(4); u32(i)
            case let .f32(f): u32(6); u32(f.bitPattern)
            }
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset = (offset + t.bytes.count + Self.alignment - 1) / Self.alignment * Self.alignment
        }
        for (t, off) in zip(tensors, offsets) {
            str(t.name)
            u32(UInt32(t.ggmlShape.count))
            for d in t.ggmlShape { u64(UInt64(d)) }
            u32(t.typeID)
            u64(UInt64(off))
        }
        while out.count % Self.alignment != 0 { out.append(0) }
        let dataStart = out.count
        for (t, off) in zip(tensors, offsets) {
            out += [UInt8](repeating: 0, count: dataStart + off - out.count)
            out += t.bytes
        }
        return out
    }

    /// Writes the file.
    public func write(to path: String) throws {
        try Data(encode()).write(to: URL(fileURLWithPath: path))
    }
}
