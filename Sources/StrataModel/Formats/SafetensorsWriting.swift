import Foundation

/// Writes one safetensors file (https://github.com/huggingface/safetensors, "Format") tensor by
/// tensor: the header — an 8-byte little-endian length, then JSON naming each tensor's dtype,
/// shape and `data_offsets`, space-padded to a multiple of 8 — goes first, then each tensor's
/// bytes in header order, streamed, so at most one tensor is in memory. The file is written as
/// `<path>.partial` and renamed into place by `finish()`: a file under its final name is whole.
public final class SafetensorsFileWriter {
    /// One tensor of the file: its name, safetensors dtype (`BF16`, `F32`, `F8_E4M3`, …) and shape.
    public struct Entry: Sendable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public init(name: String, dtype: String, shape: [Int]) { self.name = name; self.dtype = dtype; self.shape = shape }

        public var byteCount: Int {
            let n = shape.reduce(1, *)
            switch dtype {
            case "F32", "I32", "U32": return n * 4
            case "F16", "BF16", "I16", "U16": return n * 2
            default: return n   // F8_E4M3, U8, I8
            }
        }
    }

    public enum WriteError: Error, CustomStringConvertible, Equatable {
        case io(path: String, reason: String)
        /// Tensors must come in header order with exactly their size.
        case outOfOrder(expected: String, got: String)
        case wrongSize(name: String, expected: Int, got: Int)
        case incomplete(path: String, missing: String)

        public var description: String {
            switch self {
            case let .io(p, r): return "\(p): \(r)"
            case let .outOfOrder(e, g): return "tensor \(g) written where \(e) comes next"
            case let .wrongSize(n, e, g): return "tensor \(n): \(g) bytes written, its shape needs \(e)"
            case let .incomplete(p, m): return "\(p): finished before tensor \(m) was written"
            }
        }
    }

    public let path: String
    public let entries: [Entry]
    /// Bytes of the whole file.
    public let fileSize: Int
    private let fd: Int32
    private var next = 0
    private var written = 0   // bytes of the current tensor so far

    /// Creates `<path>.partial` and writes the header.
    public init(path: String, entries: [Entry], metadata: [String: String] = [:]) throws {
        self.path = path
        self.entries = entries
        var json = "{"
        if !metadata.isEmpty {
            json += "\"__metadata__\":{" + metadata.sorted { $0.key < $1.key }.map { "\(Self.quote($0.key)):\(Self.quote($0.value))" }
                .joined(separator: ",") + "},"
        }
        var offset = 0
        json += entries.map { e in
            defer { offset += e.byteCount }
            return "\(Self.quote(e.name)):{\"dtype\":\(Self.quote(e.dtype)),\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],"
                + "\"data_offsets\":[\(offset),\(offset + e.byteCount)]}"
        }.joined(separator: ",")
        json += "}"
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        fileSize = 8 + header.count + offset
        fd = open(path + ".partial", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw WriteError.io(path: path + ".partial", reason: String(cString: strerror(errno))) }
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try put($0) }
        try header.withUnsafeBytes { try put($0) }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The next part (or all) of the next tensor's bytes, little-endian.
    public func write(_ name: String, _ bytes: UnsafeRawBufferPointer) throws {
        guard next < entries.count, entries[next].name == name else {
            throw WriteError.outOfOrder(expected: next < entries.count ? entries[next].name : "(none)", got: name)
        }
        let need = entries[next].byteCount
        guard written + bytes.count <= need else { throw WriteError.wrongSize(name: name, expected: need, got: written + bytes.count) }
        try put(bytes)
        written += bytes.count
        if written == need { next += 1; written = 0 }
    }

    /// Flushes the file to disk and gives it its final name.
    public func finish() throws {
        guard next == entries.count else { throw WriteError.incomplete(path: path, missing: entries[next].name) }
        guard fsync(fd) == 0 else { throw WriteError.io(path: path, reason: String(cString: strerror(errno))) }
        guard rename(path + ".partial", path) == 0 else { throw WriteError.io(path: path, reason: String(cString: strerror(errno))) }
    }

    private func put(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw WriteError.io(path: path + ".partial", reason: String(cString: strerror(errno))) }
            done += n
        }
    }

    /// A JSON string literal (quotes, backslashes and control characters escaped), as safetensors
    /// headers and index files write names.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
