import CZeroMQ

/// A libzmq context: the I/O threads behind a set of sockets.
///
/// Sockets keep their context alive; the context terminates (`zmq_ctx_term`) once the last
/// reference and all its sockets are gone. One context per process is the norm.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` background I/O threads (1 suffices below ~1 GB/s).
    public init(ioThreads: Int = 1) throws {
        guard let h = zmq_ctx_new() else { throw ZMQ.error("zmq_ctx_new") }
        handle = h
        if zmq_ctx_set(h, ZMQ_IO_THREADS, Int32(ioThreads)) != 0 {
            zmq_ctx_term(h)
            throw ZMQ.error("zmq_ctx_set(ZMQ_IO_THREADS)")
        }
    }

    deinit { zmq_ctx_term(handle) }

    /// Creates a socket of the given kind in this context.
    public func socket(_ kind: ZMQSocket.Kind) throws -> ZMQSocket {
        try ZMQSocket(context: self, kind: kind)
    }
}

/// libzmq helpers shared by the wrapper types.
enum ZMQ {
    /// The current `zmq_errno()` as a `TransportError`.
    static func error(_ operation: String) -> TransportError {
        let e = zmq_errno()
        if e == ETERM_VALUE { return .closed }
        return .zmq(operation: operation, errno: e, message: String(cString: zmq_strerror(e)))
    }

    /// ETERM is a libzmq-specific errno: ZMQ_HAUSNUMERO + 53.
    static let ETERM_VALUE: Int32 = Int32(ZMQ_HAUSNUMERO) + 53

    /// Milliseconds left until `deadline` (rounded up), or -1 (wait forever) without one.
    static func timeoutMilliseconds(until deadline: ContinuousClock.Instant?) -> Int {
        guard let deadline else { return -1 }
        let left = ContinuousClock.now.duration(to: deadline)
        if left <= .zero { return 0 }
        let (s, atto) = left.components
        return Int(s) * 1000 + Int((atto + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    /// libzmq's version as (major, minor, patch).
    static var version: (Int, Int, Int) {
        var a: Int32 = 0, b: Int32 = 0, c: Int32 = 0
        zmq_version(&a, &b, &c)
        return (Int(a), Int(b), Int(c))
    }
}
