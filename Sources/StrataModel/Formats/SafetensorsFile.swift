import Foundation

// One .safetensors file. Format (huggingface/safetensors README): u64 little-endian header length N,
// N bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`,
// then the data section; offsets are relative to its start (byte 8 + N).

/// One tensor's header entry, not yet validated against the data section.
struct SafetensorsEntry: Sendable {
    let dtype: String
    let shape: [Int]
    let begin: Int
    let end: Int
}

/// A parsed safetensors file over a memory map. Entries are checked structurally at open;
/// dtypes, offsets and sizes when a tensor is requested, so an unused odd tensor does not fail a load.
final class SafetensorsFile: @unchecked Sendable {
    let file: MappedFile
    /// Absolute offset of the data section.
    let dataStart: Int
    let entries: [String: SafetensorsEntry]
    /// `__metadata__` string pairs (e.g. `format: pt`).
    let metadata: [String: String]
    var path: String { file.path }

    /// The safetensors spec caps the header at 100 MB.
    static let maxHeaderBytes = 100_000_000

    convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        self.file = file
        func bad(_ reason: String) -> WeightFileError { .malformedHeader(file: file.path, reason: reason) }
        guard file.count >= 8 else { throw bad("truncated: \(file.count) bytes, shorter than the 8-byte header length") }
        let n = UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(Self.maxHeaderBytes) else { throw bad("header length \(n) is implausible (limit \(Self.maxHeaderBytes))") }
        guard Int(n) <= file.count - 8 else { throw bad("truncated: header of \(n) bytes runs past the end of the file (\(file.count) bytes)") }
        dataStart = 8 + Int(n)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes: file.base + 8, count: Int(n)))
        } catch {
            throw bad("header is not valid JSON")
        }
        guard let top = json as? [String: Any] else { throw bad("header is not a JSON object") }
        var entries: [String: SafetensorsEntry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in top {
            if name == "__metadata__" {
                for (k, v) in value as? [String: Any] ?? [:] { if let s = v as? String { metadata[k] = s } }
                continue
            }
            entries[name] = try Self.entry(name, value, file: file.path)
        }
        self.entries = entries
        self.metadata = metadata
    }

    /// Checks an entry's structure: a dtype string, a shape of non-negative ints, two offsets.
    private static func entry(_ name: String, _ value: Any, file: String) throws -> SafetensorsEntry {
        func bad(_ reason: String) -> WeightFileError { .malformedTensor(file: file, tensor: name, reason: reason) }
        guard let d = value as? [String: Any] else { throw bad("header entry is not an object") }
        guard let dtype = d["dtype"] as? String else { throw bad("missing or non-string dtype") }
        guard let rawShape = d["shape"] as? [Any], let shape = ints(rawShape), shape.allSatisfy({ $0 >= 0 }) else {
            throw bad("shape is not a list of non-negative integers")
        }
        guard let rawOffsets = d["data_offsets"] as? [Any], let offs = ints(rawOffsets), offs.count == 2 else {
            throw bad("data_offsets is not a pair of integers")
        }
        guard offs[0] >= 0, offs[1] >= offs[0] else { throw bad("data_offsets [\(offs[0]), \(offs[1])] are out of order") }
        return SafetensorsEntry(dtype: dtype, shape: shape, begin: offs[0], end: offs[1])
    }

    /// JSON numbers as Ints; nil if any is not an integer.
    private static func ints(_ a: [Any]) -> [Int]? {
        var out: [Int] = []
        for v in a {
            if let i = v as? Int { out.append(i); continue }
            guard let d = v as? Double, d == d.rounded(), abs(d) < 0x1p53 else { return nil }
            out.append(Int(d))
        }
        return out
    }

    /// The encoding of a safetensors dtype string, or nil for dtypes Strata does not read.
    static func encoding(of dtype: String) -> TensorEncoding? {
        switch dtype {
        case "F32": return .f32
        case "F16": return .f16
        case "BF16": return .bf16
        case "F8_E4M3": return .e4m3
        default: return nil
        }
    }

    /// The named tensor's encoding, shape and bytes: dtype known, data inside the file.
    func locate(_ name: String) throws -> (encoding: TensorEncoding, shape: [Int], bytes: UnsafeRawBufferPointer) {
        guard let e = entries[name] else { throw WeightFileError.missingTensor(file: path, tensor: name) }
        guard let enc = Self.encoding(of: e.dtype) else {
            throw WeightFileError.unsupportedDType(file: path, tensor: name, dtype: e.dtype)
        }
        let (start, o) = dataStart.addingReportingOverflow(e.begin)
        guard !o else { throw WeightFileError.malformedTensor(file: path, tensor: name, reason: "offset \(e.begin) overflows") }
        let bytes = try file.bytes(at: start, length: e.end - e.begin, for: name)
        return (enc, e.shape, bytes)
    }
}
