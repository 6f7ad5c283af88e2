import StrataWire

/// A point-to-point, bidirectional, message-preserving channel of `WireMessage`s: a header frame
/// plus raw tensor frames. Implemented over ZeroMQ (`ZeroMQChannel`) and in-process
/// (`InProcessChannel`) with the same semantics:
///
/// - `send` encodes with the channel's `WireCodec` and queues the message; it waits while the
///   peer's queue is full, until the deadline (then `TransportError.timedOut`).
/// - `receive` returns the next message, or nil at the deadline. A message that fails validation
///   throws `TransportError.wire(...)` and is dropped; the channel stays usable.
/// - After `close`, every operation throws `TransportError.closed`.
public protocol MessageChannel: AnyObject, Sendable {
    /// Encodes and sends a message.
    func send(_ message: WireMessage, deadline: ContinuousClock.Instant?) throws
    /// Sends already-encoded frames as one message (forwarding, or tests of malformed input).
    func send(frames: [Frame], deadline: ContinuousClock.Instant?) throws
    /// The next message, or nil if none arrives before `deadline` (nil = wait forever).
    func receive(deadline: ContinuousClock.Instant?) throws -> WireMessage?
    /// Closes the channel; idempotent.
    func close()
}

extension MessageChannel {
    /// Sends, waiting as long as it takes.
    public func send(_ message: WireMessage) throws { try send(message, deadline: nil) }

    /// Receives, waiting at most `timeout`.
    public func receive(timeout: Duration) throws -> WireMessage? {
        try receive(deadline: .now + timeout)
    }
}
