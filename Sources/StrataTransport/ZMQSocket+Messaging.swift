import CZeroMQ
import Foundation
import StrataWire

/// Releases the `Frame` retained for a zero-copy send once libzmq is done with its bytes.
/// libzmq calls it from one of its I/O threads.
private let releaseSentFrame: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { _, hint in
    guard let hint else { return }
    Unmanaged<Frame>.fromOpaque(hint).release()
}

extension ZMQSocket {
    /// Sends `frames` as one multipart message (all parts or none are delivered).
    ///
    /// Frames of `zeroCopyThreshold` bytes or more are handed to libzmq without copying: the frame
    /// is retained until libzmq has written it out. Waits while the peer's queue is full (high-water
    /// mark) until `deadline` (nil = forever), then throws `TransportError.timedOut`.
    public func send(_ frames: [Frame], deadline: ContinuousClock.Instant? = nil) throws {
        precondition(!frames.isEmpty, "a message has at least one frame")
        try withHandle { h in
            for (i, frame) in frames.enumerated() {
                var msg = zmq_msg_t()
                try Self.initMessage(&msg, with: frame)
                let more = i < frames.count - 1 ? ZMQ_SNDMORE : 0
                try Self.sendPart(h, &msg, flags: more, deadline: deadline)
            }
        }
    }

    private static func initMessage(_ msg: inout zmq_msg_t, with frame: Frame) throws {
        if frame.count < zeroCopyThreshold {
            guard zmq_msg_init_size(&msg, frame.count) == 0 else { throw ZMQ.error("zmq_msg_init_size") }
            if frame.count > 0 { zmq_msg_data(&msg).copyMemory(from: frame.bytes.baseAddress!, byteCount: frame.count) }
            return
        }
        let hint = Unmanaged.passRetained(frame).toOpaque()
        let data = UnsafeMutableRawPointer(mutating: frame.bytes.baseAddress!)
        guard zmq_msg_init_data(&msg, data, frame.count, releaseSentFrame, hint) == 0 else {
            Unmanaged<Frame>.fromOpaque(hint).release()
            throw ZMQ.error("zmq_msg_init_data")
        }
    }

    /// Sends one part; on failure closes the message (releasing its frame) and throws.
    private static func sendPart(
        _ h: UnsafeMutableRawPointer, _ msg: inout zmq_msg_t, flags: Int32, deadline: ContinuousClock.Instant?
    ) throws {
        while true {
            if zmq_msg_send(&msg, h, flags | ZMQ_DONTWAIT) >= 0 { return }
            let e = zmq_errno()
            if e == EINTR { continue }
            if e == EAGAIN {
                do {
                    if try wait(h, events: ZMQ_POLLOUT, deadline: deadline) { continue }
                    zmq_msg_close(&msg)
                    throw TransportError.timedOut(operation: "send")
                } catch { zmq_msg_close(&msg); throw error }
            }
            let error = ZMQ.error("zmq_msg_send")
            zmq_msg_close(&msg)
            throw error
        }
    }

    /// Receives one multipart message, or returns nil if none arrives before `deadline`
    /// (nil = wait forever). Frames borrow libzmq's buffers: nothing is copied.
    public func receive(deadline: ContinuousClock.Instant? = nil) throws -> [Frame]? {
        try withHandle { h in
            while true {
                guard try Self.wait(h, events: ZMQ_POLLIN, deadline: deadline) else { return nil }
                if let frames = try Self.receiveParts(h) { return frames }
            }
        }
    }

    /// Reads all parts of a ready message; nil if it turned out not to be ready (spurious wakeup).
    private static func receiveParts(_ h: UnsafeMutableRawPointer) throws -> [Frame]? {
        var frames: [Frame] = []
        while true {
            let msg = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
            zmq_msg_init(msg)
            let rc = zmq_msg_recv(msg, h, ZMQ_DONTWAIT)
            if rc < 0 {
                let e = zmq_errno()
                zmq_msg_close(msg)
                msg.deallocate()
                if e == EINTR { continue }
                if e == EAGAIN && frames.isEmpty { return nil }
                throw ZMQ.error("zmq_msg_recv")
            }
            let bytes = UnsafeRawBufferPointer(start: zmq_msg_data(msg), count: zmq_msg_size(msg))
            frames.append(Frame(borrowing: bytes, release: { zmq_msg_close(msg); msg.deallocate() }))
            if zmq_msg_more(msg) == 0 { return frames }
        }
    }

    /// Polls one socket for `events` until `deadline`; true when ready, false on timeout.
    static func wait(_ h: UnsafeMutableRawPointer, events: Int32, deadline: ContinuousClock.Instant?) throws -> Bool {
        while true {
            var item = zmq_pollitem_t(socket: h, fd: 0, events: Int16(events), revents: 0)
            let timeout = ZMQ.timeoutMilliseconds(until: deadline)
            let rc = zmq_poll(&item, 1, timeout)
            if rc > 0 { return true }
            if rc < 0 {
                if zmq_errno() == EINTR { continue }
                throw ZMQ.error("zmq_poll")
            }
            if let deadline, ContinuousClock.now >= deadline { return false }
        }
    }
}

/// Waits on several sockets at once.
public enum ZMQPoller {
    /// Returns the indices of `sockets` that have a message to receive, waiting until `deadline`
    /// (nil = forever); empty on timeout. Do not close a socket while it is being polled.
    public static func readable(_ sockets: [ZMQSocket], deadline: ContinuousClock.Instant?) throws -> [Int] {
        let handles = try sockets.map { s in try s.withHandle { $0 } }
        while true {
            var items = handles.map { zmq_pollitem_t(socket: $0, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
            let rc = zmq_poll(&items, Int32(items.count), ZMQ.timeoutMilliseconds(until: deadline))
            if rc > 0 { return items.indices.filter { items[$0].revents & Int16(ZMQ_POLLIN) != 0 } }
            if rc < 0 {
                if zmq_errno() == EINTR { continue }
                throw ZMQ.error("zmq_poll")
            }
            if let deadline, ContinuousClock.now >= deadline { return [] }
        }
    }
}
