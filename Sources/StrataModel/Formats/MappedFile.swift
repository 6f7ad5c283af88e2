#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A read-only memory map of a whole file. Weights are read in place from the map,
/// never copied into the heap before they are converted.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let base: UnsafeRawPointer
    public let count: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw WeightFileError.unreadable(file: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw WeightFileError.unreadable(file: path, reason: String(cString: strerror(errno))) }
        count = Int(st.st_size)
        if count == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw WeightFileError.unreadable(file: path, reason: "mmap: " + String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if count == 0 { UnsafeMutableRawPointer(mutating: base).deallocate() } else { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The bytes `[offset, offset+length)`, or a typed error naming `what` when they lie past the end.
    public func bytes(at offset: Int, length: Int, for what: String) throws -> UnsafeRawBufferPointer {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw WeightFileError.outOfBounds(file: path, tensor: what, offset: offset, length: length, fileSize: count)
        }
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }
}

/// Errors reading weight files (GGUF, safetensors). Each names the file and, where known, the tensor.
public enum WeightFileError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or mapped.
    case unreadable(file: String, reason: String)
    /// The header is malformed: bad magic, unsupported version, truncated, or invalid JSON.
    case malformedHeader(file: String, reason: String)
    /// A tensor's directory entry is inconsistent: bad offsets, a byte size that disagrees with
    /// shape × dtype, a row that is not a whole number of quantization blocks, or a bad shape.
    case malformedTensor(file: String, tensor: String, reason: String)
    /// A tensor's data lies (partly) past the end of the file.
    case outOfBounds(file: String, tensor: String, offset: Int, length: Int, fileSize: Int)
    /// A tensor's element type is not one Strata reads.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A tensor the model needs is not in the checkpoint.
    case missingTensor(file: String, tensor: String)
    /// A tensor's shape disagrees with the model config.
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    /// A GGUF metadata key the model needs is missing or has the wrong type.
    case missingMetadata(file: String, key: String)

    public var description: String {
        switch self {
        case let .unreadable(f, r): return "\(f): cannot read: \(r)"
        case let .malformedHeader(f, r): return "\(f): malformed header: \(r)"
        case let .malformedTensor(f, t, r): return "\(f): tensor '\(t)' is malformed: \(r)"
        case let .outOfBounds(f, t, o, l, s): return "\(f): tensor '\(t)' data [\(o), \(o + l)) lies past the end of the file (\(s) bytes)"
        case let .unsupportedDType(f, t, d): return "\(f): tensor '\(t)' has unsupported dtype \(d)"
        case let .missingTensor(f, t): return "\(f): missing tensor '\(t)'"
        case let .shapeMismatch(f, t, e, g): return "\(f): tensor '\(t)' has shape \(g), config expects \(e)"
        case let .missingMetadata(f, k): return "\(f): missing or mistyped metadata key '\(k)'"
        }
    }
}
