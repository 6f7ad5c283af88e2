import StrataWire

/// Why a transport operation failed. Each case names the operation or peer involved.
public enum TransportError: Error, Equatable, CustomStringConvertible {
    /// libzmq reported an error (`errno` and its message) during `operation`.
    case zmq(operation: String, errno: Int32, message: String)
    /// The socket, channel or context was closed (locally, or the context was terminated).
    case closed
    /// A send could not be queued before its deadline (the peer's queue stayed full).
    case timedOut(operation: String)
    /// An endpoint string is not usable ("tcp://host:port", "inproc://name", "ipc://path").
    case invalidEndpoint(String)
    /// A socket option was given an invalid value (e.g. a CURVE key of the wrong length).
    case invalidOption(name: String, reason: String)
    /// A received message failed validation; the channel stays usable.
    case wire(WireError)

    public var description: String {
        switch self {
        case let .zmq(op, e, m): return "transport: \(op) failed: \(m) (errno \(e))"
        case .closed: return "transport: closed"
        case let .timedOut(op): return "transport: \(op) timed out"
        case let .invalidEndpoint(e): return "transport: invalid endpoint '\(e)'"
        case let .invalidOption(n, r): return "transport: option \(n): \(r)"
        case let .wire(w): return "transport: rejected message: \(w)"
        }
    }
}
