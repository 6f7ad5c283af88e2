import Logging
import StrataWire

/// Mailboxes over ZeroMQ: an `Inbox` is a bound PULL socket, an `Outbox` a connected PUSH socket.
/// Both refuse oversized parts (`ZMQ_MAXMSGSIZE` = the codec's frame limit); an outbox lingers
/// `lingerMilliseconds` on close so a final message (Shutdown, Results) still leaves.
public final class ZeroMQNetwork: Network, @unchecked Sendable {
    public let context: ZMQContext
    public let codec: WireCodec
    public var lingerMilliseconds: Int
    private let logger: Logger
    /// CURVE on every socket when set (see `CurveSecurity`).
    public let curve: CurveSecurity?
    private var zap: ZAPHandler?

    public init(context: ZMQContext, codec: WireCodec = WireCodec(), lingerMilliseconds: Int = 1000,
                logger: Logger = Logger(label: "strata.transport")) {
        self.context = context
        self.codec = codec
        self.lingerMilliseconds = lingerMilliseconds
        self.logger = logger
        curve = nil
    }

    /// A network whose every link uses CURVE with `curve`'s keys; starts the context's ZAP handler,
    /// which refuses (and logs) peers whose key is not listed.
    public init(context: ZMQContext, curve: CurveSecurity, codec: WireCodec = WireCodec(), lingerMilliseconds: Int = 1000,
                logger: Logger = Logger(label: "strata.transport")) throws {
        self.context = context
        self.codec = codec
        self.lingerMilliseconds = lingerMilliseconds
        self.logger = logger
        self.curve = curve
        zap = try ZAPHandler(context: context, security: curve, logger: logger)
    }

    deinit { zap?.stop() }

    public func trust(clientKey: [UInt8]) { curve?.allow(clientKey) }
    public func setServerKey(_ key: [UInt8], for endpoint: String) { curve?.setServerKey(key, for: endpoint) }

    public func bind(_ endpoint: String) throws -> Inbox {
        let socket = try context.socket(.pull)
        try socket.setLinger(milliseconds: 0)
        try socket.setMaxMessageSize(Int64(max(codec.limits.maxFrameBytes, codec.limits.maxHeaderBytes)))
        if let curve {
            try socket.setZAPDomain("strata")
            try socket.setCurveServer(secretKey: curve.keyPair.secretKey)
        }
        let bound = try socket.bind(endpoint)
        return ZeroMQInbox(socket: socket, endpoint: bound, codec: codec, logger: logger)
    }

    public func connect(_ endpoint: String) throws -> Outbox {
        let socket = try context.socket(.push)
        try socket.setLinger(milliseconds: lingerMilliseconds)
        if let curve {
            guard let key = curve.serverKey(for: endpoint) else {
                throw TransportError.invalidOption(name: "ZMQ_CURVE_SERVERKEY", reason: "no CURVE key is known for the server at \(endpoint)")
            }
            try socket.setCurveClient(serverKey: key, publicKey: curve.keyPair.publicKey, secretKey: curve.keyPair.secretKey)
        }
        try socket.connect(endpoint)
        return ZeroMQOutbox(socket: socket, endpoint: endpoint, codec: codec)
    }
}

final class ZeroMQInbox: Inbox, @unchecked Sendable {
    let socket: ZMQSocket
    let endpoint: String
    let codec: WireCodec
    let logger: Logger

    init(socket: ZMQSocket, endpoint: String, codec: WireCodec, logger: Logger) {
        self.socket = socket; self.endpoint = endpoint; self.codec = codec; self.logger = logger
    }

    func receive(deadline: ContinuousClock.Instant?) throws -> WireMessage? {
        guard let frames = try socket.receive(deadline: deadline) else { return nil }
        do {
            return try codec.decode(frames)
        } catch let e as WireError {
            logger.warning("rejected message", metadata: ["endpoint": "\(endpoint)", "error": "\(e)", "frames": "\(frames.count)"])
            throw TransportError.wire(e)
        }
    }

    func close() { socket.close() }
}

final class ZeroMQOutbox: Outbox, @unchecked Sendable {
    let socket: ZMQSocket
    let endpoint: String
    let codec: WireCodec

    init(socket: ZMQSocket, endpoint: String, codec: WireCodec) {
        self.socket = socket; self.endpoint = endpoint; self.codec = codec
    }

    func send(_ message: WireMessage, deadline: ContinuousClock.Instant?) throws {
        let frames: [Frame]
        do { frames = try codec.encode(message) } catch let e as WireError { throw TransportError.wire(e) }
        try socket.send(frames, deadline: deadline)
    }

    func send(frames: [Frame], deadline: ContinuousClock.Instant?) throws {
        try socket.send(frames, deadline: deadline)
    }

    func close() { socket.close() }
}
