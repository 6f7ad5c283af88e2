import Foundation
import Logging
import StrataWire

/// A `MessageChannel` between two ends in one process, for tests and single-process use.
///
/// It has `ZeroMQChannel`'s semantics: messages are encoded to frames by `WireCodec` on send and
/// validated on receive (frames are shared, not copied), each direction holds at most `capacity`
/// messages (send waits, like ZeroMQ's high-water mark). Closing an end affects that end only, as
/// with a ZeroMQ PAIR socket: its own operations throw `closed`, its pending messages are dropped,
/// and the peer's sends find no one (they wait until their deadline, then throw `timedOut`).
public final class InProcessChannel: MessageChannel, @unchecked Sendable {
    private let inbox: FrameQueue
    private let outbox: FrameQueue
    public let codec: WireCodec
    private let logger: Logger

    private init(inbox: FrameQueue, outbox: FrameQueue, codec: WireCodec, logger: Logger) {
        self.inbox = inbox
        self.outbox = outbox
        self.codec = codec
        self.logger = logger
    }

    /// Two connected ends.
    public static func pair(
        codec: WireCodec = WireCodec(), capacity: Int = 1000, logger: Logger = Logger(label: "strata.transport")
    ) -> (InProcessChannel, InProcessChannel) {
        let a = FrameQueue(capacity: capacity), b = FrameQueue(capacity: capacity)
        return (InProcessChannel(inbox: a, outbox: b, codec: codec, logger: logger),
                InProcessChannel(inbox: b, outbox: a, codec: codec, logger: logger))
    }

    public func send(_ message: WireMessage, deadline: ContinuousClock.Instant?) throws {
        let frames: [Frame]
        do { frames = try codec.encode(message) } catch let e as WireError { throw TransportError.wire(e) }
        try outbox.put(frames, deadline: deadline)
    }

    public func send(frames: [Frame], deadline: ContinuousClock.Instant?) throws {
        try outbox.put(frames, deadline: deadline)
    }

    public func receive(deadline: ContinuousClock.Instant?) throws -> WireMessage? {
        guard let frames = try inbox.take(deadline: deadline) else { return nil }
        do {
            return try codec.decode(frames)
        } catch let e as WireError {
            logger.warning("rejected message", metadata: ["error": "\(e)", "frames": "\(frames.count)"])
            throw TransportError.wire(e)
        }
    }

    public func close() {
        inbox.close()
        outbox.closeSender()
    }
}

/// A bounded, closable FIFO of multipart messages with deadline-aware blocking.
final class FrameQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [[Frame]] = []
    private var head = 0
    /// The receiving end closed: nothing is delivered any more.
    private var closed = false
    /// The sending end closed: its own sends fail.
    private var senderClosed = false
    private let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    func put(_ frames: [Frame], deadline: ContinuousClock.Instant?) throws {
        condition.lock()
        defer { condition.unlock() }
        if senderClosed { throw TransportError.closed }
        while closed || items.count - head >= capacity {
            guard wait(until: deadline) else { throw TransportError.timedOut(operation: "send") }
            if senderClosed { throw TransportError.closed }
        }
        items.append(frames)
        condition.broadcast()
    }

    func take(deadline: ContinuousClock.Instant?) throws -> [Frame]? {
        condition.lock()
        defer { condition.unlock() }
        while !closed && head == items.count {
            guard wait(until: deadline) else { return nil }
        }
        if closed { throw TransportError.closed }
        let frames = items[head]
        head += 1
        if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        condition.broadcast()
        return frames
    }

    /// The receiving end has closed.
    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    /// Marks the sending end closed; wakes a sender blocked on a full queue.
    func closeSender() {
        condition.lock()
        senderClosed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Closes the receiving end and drops pending messages.
    func close() {
        condition.lock()
        closed = true
        items.removeAll()
        head = 0
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for a signal; false once `deadline` has passed. Call with the lock held.
    private func wait(until deadline: ContinuousClock.Instant?) -> Bool {
        guard let deadline else { condition.wait(); return true }
        let left = ContinuousClock.now.duration(to: deadline)
        if left <= .zero { return false }
        let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) * 1e-18
        _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
        return true
    }
}
