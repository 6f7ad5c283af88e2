import Logging
import StrataWire

/// A `MessageChannel` over one ZeroMQ socket (PAIR or DEALER for both directions; PUSH or PULL for
/// one). Each message is one multipart ZeroMQ message, laid out by `WireCodec`.
public final class ZeroMQChannel: MessageChannel, @unchecked Sendable {
    public let socket: ZMQSocket
    public let codec: WireCodec
    private let logger: Logger

    /// Wraps a configured, bound or connected socket. The channel owns it from now on.
    public init(socket: ZMQSocket, codec: WireCodec = WireCodec(), logger: Logger = Logger(label: "strata.transport")) {
        self.socket = socket
        self.codec = codec
        self.logger = logger
    }

    /// A PAIR socket bound to `endpoint` (e.g. "tcp://127.0.0.1:*") with the given limits:
    /// linger 0, and `ZMQ_MAXMSGSIZE` set to the codec's frame limit so libzmq drops a network
    /// peer that sends an oversized part before buffering it.
    public static func bind(
        _ endpoint: String, context: ZMQContext, codec: WireCodec = WireCodec()
    ) throws -> (channel: ZeroMQChannel, endpoint: String) {
        let socket = try configuredPair(context, codec)
        let bound = try socket.bind(endpoint)
        return (ZeroMQChannel(socket: socket, codec: codec), bound)
    }

    /// A PAIR socket connected to `endpoint`, configured like `bind`.
    public static func connect(_ endpoint: String, context: ZMQContext, codec: WireCodec = WireCodec()) throws -> ZeroMQChannel {
        let socket = try configuredPair(context, codec)
        try socket.connect(endpoint)
        return ZeroMQChannel(socket: socket, codec: codec)
    }

    private static func configuredPair(_ context: ZMQContext, _ codec: WireCodec) throws -> ZMQSocket {
        let socket = try context.socket(.pair)
        try socket.setLinger(milliseconds: 0)
        let limit = max(codec.limits.maxFrameBytes, codec.limits.maxHeaderBytes)
        try socket.setMaxMessageSize(Int64(limit))
        return socket
    }

    public func send(_ message: WireMessage, deadline: ContinuousClock.Instant?) throws {
        let frames: [Frame]
        do { frames = try codec.encode(message) } catch let e as WireError { throw TransportError.wire(e) }
        try socket.send(frames, deadline: deadline)
    }

    public func send(frames: [Frame], deadline: ContinuousClock.Instant?) throws {
        try socket.send(frames, deadline: deadline)
    }

    public func receive(deadline: ContinuousClock.Instant?) throws -> WireMessage? {
        guard let frames = try socket.receive(deadline: deadline) else { return nil }
        do {
            return try codec.decode(frames)
        } catch let e as WireError {
            logger.warning("rejected message", metadata: ["error": "\(e)", "frames": "\(frames.count)"])
            throw TransportError.wire(e)
        }
    }

    public func close() { socket.close() }
}
