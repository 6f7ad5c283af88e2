import CZeroMQ
import Foundation
import Logging
import StrataWire

/// ZeroMQ CURVE for every link of a `ZeroMQNetwork`: inboxes are CURVE servers with this process's
/// key and accept only clients whose public key is listed (a ZAP handler answers libzmq's
/// authentication requests; an unlisted peer's handshake fails, so it can neither join nor inject
/// a frame, and is logged); outboxes are CURVE clients and need the public key of the server they
/// connect to. Keys are 32 bytes; files and cluster.yaml carry them as Z85 text (40 characters).
public final class CurveSecurity: @unchecked Sendable {
    public let keyPair: CurveKeyPair
    private let lock = NSLock()
    private var allowed: Set<[UInt8]>
    private var serverKeys: [String: [UInt8]]
    private var fallbackServerKey: [UInt8]?
    /// Public keys (Z85) refused so far, for tests and `/health`-style reporting.
    public private(set) var refused: [String] = []

    /// `serverKeys`: endpoint → public key of the server there; `defaultServerKey` for endpoints
    /// learnt at run time (a worker's coordinator).
    public init(keyPair: CurveKeyPair, allowedClients: [[UInt8]], serverKeys: [String: [UInt8]] = [:],
                defaultServerKey: [UInt8]? = nil) {
        self.keyPair = keyPair
        allowed = Set(allowedClients)
        self.serverKeys = serverKeys
        fallbackServerKey = defaultServerKey
    }

    /// Accepts connections from the holder of `key` from now on.
    public func allow(_ key: [UInt8]) { lock.lock(); allowed.insert(key); lock.unlock() }
    /// The server at `endpoint` holds `key`.
    public func setServerKey(_ key: [UInt8], for endpoint: String) { lock.lock(); serverKeys[endpoint] = key; lock.unlock() }

    func isAllowed(_ key: [UInt8]) -> Bool { lock.lock(); defer { lock.unlock() }; return allowed.contains(key) }
    func serverKey(for endpoint: String) -> [UInt8]? {
        lock.lock(); defer { lock.unlock() }
        return serverKeys[endpoint] ?? fallbackServerKey
    }
    func noteRefused(_ key: [UInt8]) { lock.lock(); refused.append(Z85.encode(key)); lock.unlock() }
    public var refusedKeys: [String] { lock.lock(); defer { lock.unlock() }; return refused }
}

/// Z85 text ↔ 32-byte CURVE keys (libzmq's `zmq_z85_encode` / `zmq_z85_decode`).
public enum Z85 {
    public static func encode(_ key: [UInt8]) -> String {
        var out = [CChar](repeating: 0, count: key.count * 5 / 4 + 1)
        var k = key
        guard key.count % 4 == 0, zmq_z85_encode(&out, &k, key.count) != nil else { return "" }
        return String(cString: out)
    }

    /// The 32-byte key a 40-character Z85 string encodes, or nil.
    public static func decodeKey(_ text: String) -> [UInt8]? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.utf8.count == 40 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&bytes, t) != nil else { return nil }
        return bytes
    }
}

/// Answers libzmq's ZAP requests (RFC 27) for one context on inproc://zeromq.zap.01: CURVE
/// clients with an allowed key get 200, everyone else 400 and a log line.
final class ZAPHandler: @unchecked Sendable {
    private let socket: ZMQSocket
    private let security: CurveSecurity
    private let logger: Logger
    private let stopping = NSLock()
    private var stopped = false

    init(context: ZMQContext, security: CurveSecurity, logger: Logger) throws {
        socket = try context.socket(.rep)
        try socket.setLinger(milliseconds: 0)
        _ = try socket.bind("inproc://zeromq.zap.01")
        self.security = security
        self.logger = logger
        let t = Thread { [self] in loop() }
        t.name = "strata.zap"
        t.start()
    }

    func stop() { stopping.lock(); stopped = true; stopping.unlock() }
    private var isStopped: Bool { stopping.lock(); defer { stopping.unlock() }; return stopped }

    private func loop() {
        while !isStopped {
            guard let frames = try? socket.receive(deadline: .now + .milliseconds(200)) else { continue }
            let parts = frames.map(\.array)
            guard parts.count >= 6 else { continue }
            let mechanism = String(decoding: parts[5], as: UTF8.self)
            let address = String(decoding: parts[3], as: UTF8.self)
            let key = parts.count > 6 ? parts[6] : []
            let ok = mechanism == "CURVE" && key.count == 32 && security.isAllowed(key)
            if !ok {
                security.noteRefused(key)
                logger.warning("refused a peer: \(mechanism == "CURVE" ? "its CURVE key is not listed" : "it does not use CURVE")",
                               metadata: ["address": "\(address)", "key": "\(key.count == 32 ? Z85.encode(key) : "-")"])
            }
            let reply: [[UInt8]] = [Array("1.0".utf8), parts[1], Array((ok ? "200" : "400").utf8),
                                    Array((ok ? "OK" : "key not listed").utf8), [], []]
            try? socket.send(reply.map { Frame(copying: $0) }, deadline: .now + .seconds(1))
        }
        socket.close()
    }
}
