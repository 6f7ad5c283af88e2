import Foundation
import Logging
import StrataWire

/// Mailboxes inside one process, with `ZeroMQNetwork`'s semantics: endpoints are plain names,
/// an outbox may be connected before its inbox is bound (sends wait for the bind, until their
/// deadline), messages are encoded by `WireCodec` on send and validated on receive, and each inbox
/// holds at most `capacity` messages. Binding a name twice fails while the first inbox is open.
public final class InProcessNetwork: Network, @unchecked Sendable {
    public let codec: WireCodec
    private let capacity: Int
    private let logger: Logger
    private let condition = NSCondition()
    private var queues: [String: FrameQueue] = [:]
    private var counter = 0

    public init(codec: WireCodec = WireCodec(), capacity: Int = 1000, logger: Logger = Logger(label: "strata.transport")) {
        self.codec = codec
        self.capacity = capacity
        self.logger = logger
    }

    /// Binds `endpoint`; a name ending in ":*" or ":0" gets a fresh unique name.
    public func bind(_ endpoint: String) throws -> Inbox {
        condition.lock()
        defer { condition.unlock() }
        var name = endpoint
        if name.hasSuffix(":*") || name.hasSuffix(":0") {
            counter += 1
            name = String(name.dropLast()) + "\(40000 + counter)"
        }
        if let q = queues[name], !q.isClosed {
            throw TransportError.zmq(operation: "bind \(name)", errno: 98, message: "Address already in use")
        }
        let q = FrameQueue(capacity: capacity)
        queues[name] = q
        condition.broadcast()
        return InProcessInbox(queue: q, endpoint: name, codec: codec, logger: logger)
    }

    public func connect(_ endpoint: String) throws -> Outbox {
        InProcessOutbox(network: self, endpoint: endpoint)
    }

    /// The open queue bound at `endpoint`, waiting for a bind until `deadline`; nil when the
    /// inbox there has closed (its messages are lost, as with a ZeroMQ peer that went away).
    fileprivate func queue(_ endpoint: String, deadline: ContinuousClock.Instant?) throws -> FrameQueue? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let q = queues[endpoint] { return q.isClosed ? nil : q }
            if let deadline {
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero else { throw TransportError.timedOut(operation: "send to \(endpoint)") }
                _ = condition.wait(until: Date(timeIntervalSinceNow: min(Double(left.components.seconds) + 0.05, 3600)))
            } else {
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.05))
            }
        }
    }

    fileprivate func encode(_ message: WireMessage) throws -> [Frame] {
        do { return try codec.encode(message) } catch let e as WireError { throw TransportError.wire(e) }
    }
}

final class InProcessInbox: Inbox, @unchecked Sendable {
    let queue: FrameQueue
    let endpoint: String
    let codec: WireCodec
    let logger: Logger

    init(queue: FrameQueue, endpoint: String, codec: WireCodec, logger: Logger) {
        self.queue = queue; self.endpoint = endpoint; self.codec = codec; self.logger = logger
    }

    func receive(deadline: ContinuousClock.Instant?) throws -> WireMessage? {
        guard let frames = try queue.take(deadline: deadline) else { return nil }
        do {
            return try codec.decode(frames)
        } catch let e as WireError {
            logger.warning("rejected message", metadata: ["endpoint": "\(endpoint)", "error": "\(e)"])
            throw TransportError.wire(e)
        }
    }

    func close() { queue.close() }
}

final class InProcessOutbox: Outbox, @unchecked Sendable {
    let network: InProcessNetwork
    let endpoint: String
    private let lock = NSLock()
    private var closed = false

    init(network: InProcessNetwork, endpoint: String) { self.network = network; self.endpoint = endpoint }

    func send(_ message: WireMessage, deadline: ContinuousClock.Instant?) throws {
        try send(frames: network.encode(message), deadline: deadline)
    }

    func send(frames: [Frame], deadline: ContinuousClock.Instant?) throws {
        lock.lock(); let isClosed = closed; lock.unlock()
        if isClosed { throw TransportError.closed }
        try network.queue(endpoint, deadline: deadline)?.put(frames, deadline: deadline)
    }

    func close() { lock.lock(); closed = true; lock.unlock() }
}
