/// Why a multipart message could not be encoded or decoded. Each case names what is wrong.
public enum WireError: Error, Equatable, CustomStringConvertible {
    /// The message had no frames at all (no header).
    case noFrames
    /// The header frame is larger than the configured limit.
    case headerTooLarge(bytes: Int, limit: Int)
    /// The header frame is not a valid protobuf `Envelope`.
    case malformedHeader(reason: String)
    /// The sender speaks another protocol version.
    case versionMismatch(received: UInt32, expected: UInt32)
    /// The header carries no body this build knows (a newer peer's message, or none at all).
    case unknownMessage(detail: String)
    /// The number of raw frames differs from the number of tensors the header describes.
    case frameCountMismatch(described: Int, received: Int)
    /// A tensor description has a dtype this build does not know.
    case unknownDType(tensor: Int, rawValue: Int)
    /// A tensor shape is empty, too deep, has a zero/negative dimension, or overflows.
    case invalidShape(tensor: Int, shape: [UInt64], reason: String)
    /// A raw frame's size disagrees with its described dtype and shape.
    case frameSizeMismatch(tensor: Int, expected: Int, actual: Int)
    /// A raw frame is larger than the configured limit.
    case frameTooLarge(frame: Int, bytes: Int, limit: Int)
    /// The header has more tensors than the configured limit.
    case tooManyTensors(count: Int, limit: Int)
    /// A batch's sequences disagree with its token ids or activation rows.
    case inconsistentBatch(reason: String)

    public var description: String {
        switch self {
        case .noFrames: return "wire: message has no header frame"
        case let .headerTooLarge(b, l): return "wire: header frame of \(b) bytes exceeds the limit of \(l)"
        case let .malformedHeader(r): return "wire: malformed header: \(r)"
        case let .versionMismatch(r, e): return "wire: protocol version \(r) received, this build speaks \(e)"
        case let .unknownMessage(d): return "wire: unknown message (\(d))"
        case let .frameCountMismatch(d, r): return "wire: header describes \(d) tensor frame(s) but \(r) followed"
        case let .unknownDType(t, v): return "wire: tensor \(t) has unknown dtype \(v)"
        case let .invalidShape(t, s, r): return "wire: tensor \(t) shape \(s) \(r)"
        case let .frameSizeMismatch(t, e, a): return "wire: tensor \(t) frame is \(a) bytes, its shape needs \(e)"
        case let .frameTooLarge(f, b, l): return "wire: frame \(f) of \(b) bytes exceeds the limit of \(l)"
        case let .tooManyTensors(c, l): return "wire: \(c) tensor frames exceed the limit of \(l)"
        case let .inconsistentBatch(r): return "wire: inconsistent batch: \(r)"
        }
    }
}
