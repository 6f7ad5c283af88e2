// GGUF v2/v3 reader. Format: ggml/docs/gguf.md (little-endian; header, metadata KV, tensor infos,
// aligned tensor data). Metadata is decoded eagerly; tensor data stays in the memory map.

/// A GGUF metadata value.
public indirect enum GGUFValue: Equatable, Sendable {
    case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String)
    case array([GGUFValue])

    public var int: Int? {
        switch self {
        case let .uint(v): return v <= UInt64(Int.max) ? Int(v) : nil
        case let .int(v): return Int(v)
        default: return nil
        }
    }
    public var double: Double? {
        switch self {
        case let .float(v): return v
        case let .uint(v): return Double(v)
        case let .int(v): return Double(v)
        default: return nil
        }
    }
    public var string: String? { if case let .string(s) = self { return s }; return nil }
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var array: [GGUFValue]? { if case let .array(a) = self { return a }; return nil }
    public var strings: [String]? { array?.compactMap(\.string) }
}

/// ggml tensor types (the subset Strata reads, plus the ids it recognizes to name in errors).
public enum GGMLType: UInt32, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case bf16 = 30

    /// (elements per block, bytes per block)
    public var blockLayout: (elements: Int, bytes: Int) {
        switch self {
        case .f32: return (1, 4)
        case .f16, .bf16: return (1, 2)
        case .q4_0: return (32, 18)
        case .q4_1: return (32, 20)
        case .q5_0: return (32, 22)
        case .q5_1: return (32, 24)
        case .q8_0: return (32, 34)
        case .q8_1: return (32, 36)
        case .q2_K: return (256, 84)
        case .q3_K: return (256, 110)
        case .q4_K: return (256, 144)
        case .q5_K: return (256, 176)
        case .q6_K: return (256, 210)
        case .q8_K: return (256, 292)
        }
    }
}

/// One tensor's directory entry. `shape` is in ggml order: `shape[0]` is the contiguous (innermost) axis.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    public let shape: [Int]
    public let typeID: UInt32
    /// Absolute offset of the data in the file.
    public let offset: Int
    public var type: GGMLType? { GGMLType(rawValue: typeID) }
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A parsed GGUF file: metadata and tensor directory over a memory map.
public final class GGUFFile: @unchecked Sendable {
    public let file: MappedFile
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    public let tensors: [String: GGUFTensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]
    public var path: String { file.path }

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        var r = GGUFReader(file: file)
        guard try r.u32() == 0x4655_4747 else { throw r.malformed("bad magic (not a GGUF file)") }
        version = try r.u32()
        guard version == 2 || version == 3 else { throw r.malformed("unsupported GGUF version \(version)") }
        let tensorCount = try r.count(limit: 1 << 24, "tensor count")
        let kvCount = try r.count(limit: 1 << 24, "metadata count")
        var md: [String: GGUFValue] = [:]
        for _ in 0..<kvCount {
            let key = try r.string()
            md[key] = try r.value(type: r.u32(), depth: 0)
        }
        metadata = md
        var infos: [(String, [Int], UInt32, Int)] = []
        for _ in 0..<tensorCount {
            let name = try r.string()
            let nd = try r.u32()
            guard nd >= 1, nd <= 4 else { throw r.malformed("tensor '\(name)' has \(nd) dimensions") }
            var shape: [Int] = []
            for _ in 0..<nd { shape.append(try r.count(limit: 1 << 40, "dimension of '\(name)'")) }
            let type = try r.u32()
            let off = try r.count(limit: Int.max / 2, "offset of '\(name)'")
            infos.append((name, shape, type, off))
        }
        let alignment = md["general.alignment"]?.int ?? 32
        guard alignment > 0, alignment & (alignment - 1) == 0 else { throw r.malformed("general.alignment \(alignment) is not a power of two") }
        let dataStart = (r.offset + alignment - 1) / alignment * alignment
        var t: [String: GGUFTensorInfo] = [:]
        for (name, shape, type, off) in infos {
            t[name] = GGUFTensorInfo(name: name, shape: shape, typeID: type, offset: dataStart + off)
        }
        tensors = t
        tensorNames = infos.map(\.0)
    }

    /// The raw bytes of a tensor, bounds-checked against the file.
    public func data(of info: GGUFTensorInfo) throws -> UnsafeRawBufferPointer {
        guard let type = info.type else {
            throw WeightFileError.unsupportedDType(file: path, tensor: info.name, dtype: "ggml type \(info.typeID)")
        }
        let (be, bb) = type.blockLayout
        guard info.shape[0] % be == 0 else {
            throw WeightFileError.malformedHeader(file: path, reason: "tensor '\(info.name)' row of \(info.shape[0]) is not a multiple of its block size \(be)")
        }
        let (n, overflow) = info.elementCount.multipliedReportingOverflow(by: bb)
        guard !overflow else { throw WeightFileError.malformedHeader(file: path, reason: "tensor '\(info.name)' is too large") }
        return try file.bytes(at: info.offset, length: n / be, for: info.name)
    }

    public func string(_ key: String) throws -> String {
        guard let v = metadata[key]?.string else { throw WeightFileError.missingMetadata(file: path, key: key) }
        return v
    }
    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key]?.int else { throw WeightFileError.missingMetadata(file: path, key: key) }
        return v
    }
    public func double(_ key: String) throws -> Double {
        guard let v = metadata[key]?.double else { throw WeightFileError.missingMetadata(file: path, key: key) }
        return v
    }
}

/// Bounds-checked little-endian cursor over the header.
struct GGUFReader {
    let file: MappedFile
    var offset = 0

    func malformed(_ reason: String) -> WeightFileError { .malformedHeader(file: file.path, reason: reason) }

    mutating func take(_ n: Int) throws -> UnsafeRawPointer {
        guard n >= 0, n <= file.count - offset else { throw malformed("truncated at byte \(offset) (needs \(n) more)") }
        defer { offset += n }
        return file.base + offset
    }
    mutating func u8() throws -> UInt8 { try take(1).load(as: UInt8.self) }
    mutating func u16() throws -> UInt16 { UInt16(littleEndian: try take(2).loadUnaligned(as: UInt16.self)) }
    mutating func u32() throws -> UInt32 { UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)) }
    mutating func u64() throws -> UInt64 { UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self)) }
    mutating func count(limit: Int, _ what: String) throws -> Int {
        let v = try u64()
        guard v <= UInt64(limit) else { throw malformed("\(what) \(v) is implausible") }
        return Int(v)
    }
    mutating func string() throws -> String {
        let n = try count(limit: file.count, "string length")
        let p = try take(n)
        return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
    }
    mutating func value(type: UInt32, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try u8()))
        case 1: return .int(Int64(Int8(bitPattern: try u8())))
        case 2: return .uint(UInt64(try u16()))
        case 3: return .int(Int64(Int16(bitPattern: try u16())))
        case 4: return .uint(UInt64(try u32()))
        case 5: return .int(Int64(Int32(bitPattern: try u32())))
        case 6: return .float(Double(Float(bitPattern: try u32())))
        case 7: return .bool(try u8() != 0)
        case 8: return .string(try string())
        case 9:
            guard depth < 4 else { throw malformed("arrays nested too deeply") }
            let et = try u32()
            let n = try count(limit: file.count, "array length")
            var a: [GGUFValue] = []
            a.reserveCapacity(n)
            for _ in 0..<n { a.append(try value(type: et, depth: depth + 1)) }
            return .array(a)
        case 10: return .uint(try u64())
        case 11: return .int(Int64(bitPattern: try u64()))
        case 12: return .float(Float64(bitPattern: try u64()))
        default: throw malformed("unknown metadata value type \(type) at byte \(offset)")
        }
    }
}
