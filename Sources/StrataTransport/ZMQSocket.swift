import CZeroMQ
import Foundation
import StrataWire

/// A libzmq socket with a safe Swift surface: bind/connect, options, multipart send/receive of
/// `Frame`s (zero-copy both ways for large frames) with deadlines, and an idempotent close.
///
/// libzmq sockets are not thread-safe; every operation here takes the socket's lock, so calls from
/// several threads are serialized (a blocking `receive` holds the lock until it returns). For
/// concurrent sending and receiving, use two sockets (e.g. PUSH downstream, PULL upstream).
public final class ZMQSocket: @unchecked Sendable {
    /// ZeroMQ socket patterns Strata uses.
    public enum Kind: Sendable {
        case pair, push, pull, dealer, router, rep

        var raw: Int32 {
            switch self {
            case .pair: return ZMQ_PAIR
            case .push: return ZMQ_PUSH
            case .pull: return ZMQ_PULL
            case .dealer: return ZMQ_DEALER
            case .router: return ZMQ_ROUTER
            case .rep: return ZMQ_REP
            }
        }
    }

    /// Frames smaller than this are copied into the message; larger ones are sent zero-copy.
    public static let zeroCopyThreshold = 4096

    public let kind: Kind
    private let context: ZMQContext  // keeps the context alive while the socket is
    private var handle: UnsafeMutableRawPointer?
    private let lock = NSLock()

    init(context: ZMQContext, kind: Kind) throws {
        guard let h = zmq_socket(context.handle, kind.raw) else { throw ZMQ.error("zmq_socket") }
        self.context = context
        self.kind = kind
        self.handle = h
    }

    deinit { close() }

    /// Runs `body` with the open handle under the socket's lock.
    func withHandle<T>(_ body: (UnsafeMutableRawPointer) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard let h = handle else { throw TransportError.closed }
        return try body(h)
    }

    /// Closes the socket, discarding unsent messages after the linger period. Idempotent.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if let h = handle { zmq_close(h); handle = nil }
    }

    /// Binds to `endpoint` ("tcp://127.0.0.1:5551", "tcp://127.0.0.1:*" for an ephemeral port,
    /// "inproc://name"). Returns the bound endpoint (with the actual port).
    @discardableResult
    public func bind(_ endpoint: String) throws -> String {
        try withHandle { h in
            guard zmq_bind(h, endpoint) == 0 else { throw Self.endpointError("zmq_bind", endpoint) }
        }
        return try lastEndpoint()
    }

    /// Connects to `endpoint`; libzmq reconnects by itself if the peer goes away.
    public func connect(_ endpoint: String) throws {
        try withHandle { h in
            guard zmq_connect(h, endpoint) == 0 else { throw Self.endpointError("zmq_connect", endpoint) }
        }
    }

    private static func endpointError(_ op: String, _ endpoint: String) -> TransportError {
        let e = zmq_errno()
        if e == EINVAL || e == EPROTONOSUPPORT { return .invalidEndpoint(endpoint) }
        return ZMQ.error("\(op) \(endpoint)")
    }

    /// The endpoint last bound or connected (`ZMQ_LAST_ENDPOINT`).
    public func lastEndpoint() throws -> String {
        try withHandle { h in
            var buffer = [CChar](repeating: 0, count: 1024)
            var size = buffer.count
            guard zmq_getsockopt(h, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
                throw ZMQ.error("zmq_getsockopt(ZMQ_LAST_ENDPOINT)")
            }
            return String(cString: buffer)
        }
    }
}
