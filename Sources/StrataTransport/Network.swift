import StrataWire

/// The receiving end of a mailbox: bound at an endpoint, it receives messages from any number of
/// senders (fair-queued; each sender's messages stay in order). ZeroMQ: a PULL socket.
public protocol Inbox: AnyObject, Sendable {
    /// The endpoint it is bound at (with the real port when bound to port 0 / `*`).
    var endpoint: String { get }
    /// The next message, or nil at the deadline (nil = wait forever). A message that fails
    /// validation throws `TransportError.wire` and is dropped; the inbox stays usable.
    func receive(deadline: ContinuousClock.Instant?) throws -> WireMessage?
    /// Closes the inbox; idempotent. Pending messages are dropped.
    func close()
}

/// The sending end of a mailbox: connected to one endpoint. It may be created before the inbox is
/// bound (messages wait, as with ZeroMQ's reconnecting connect). ZeroMQ: a PUSH socket.
public protocol Outbox: AnyObject, Sendable {
    var endpoint: String { get }
    /// Encodes and queues a message; waits while the peer's queue is full, until `deadline`
    /// (then `TransportError.timedOut`).
    func send(_ message: WireMessage, deadline: ContinuousClock.Instant?) throws
    /// Sends already-encoded frames as one message (forwarding, or tests of malformed input).
    func send(frames: [Frame], deadline: ContinuousClock.Instant?) throws
    /// Closes; idempotent. Messages already queued are still delivered for a short linger.
    func close()
}

/// Where mailboxes live: ZeroMQ (`ZeroMQNetwork`, across processes and hosts) or one process
/// (`InProcessNetwork`, for tests). Cluster code is written against this protocol only.
public protocol Network: Sendable {
    func bind(_ endpoint: String) throws -> Inbox
    func connect(_ endpoint: String) throws -> Outbox
    /// CURVE: accept the holder of this public key as a sender to this process's inboxes.
    func trust(clientKey: [UInt8])
    /// CURVE: the inbox at `endpoint` belongs to the holder of this public key.
    func setServerKey(_ key: [UInt8], for endpoint: String)
}

extension Network {
    /// Networks without CURVE (in-process) ignore keys.
    public func trust(clientKey: [UInt8]) {}
    public func setServerKey(_ key: [UInt8], for endpoint: String) {}
}

extension Inbox {
    public func receive(timeout: Duration) throws -> WireMessage? { try receive(deadline: .now + timeout) }
}

extension Outbox {
    public func send(_ message: WireMessage) throws { try send(message, deadline: nil) }
}
