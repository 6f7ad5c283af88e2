import Foundation
import StrataTransport
import StrataWire
import StrataTransportTesting
import Testing

/// One test body per behaviour, run over the in-process channel and over ZeroMQ (inproc and TCP).
struct MessageChannelTests {
    static let wait = Duration.seconds(5)

    @Test(arguments: ChannelHarness.allCases)
    func messagesRoundTripInOrder(harness: ChannelHarness) throws {
        let (a, b, context) = try harness.makePair()
        defer { a.close(); b.close(); _ = context }
        try a.send(Fixtures.hello())
        try a.send(Fixtures.batch(rows: 3, hidden: 64))
        try b.send(Fixtures.reply(accepted: true))

        let first = try #require(try b.receive(timeout: Self.wait))
        #expect(first.kind == "hello")
        let second = try #require(try b.receive(timeout: Self.wait))
        #expect(second.kind == "batch" && second.tensors.first?.shape == [3, 64])
        #expect(second.tensors.first?.floats() == Fixtures.batch(rows: 3, hidden: 64).tensors[0].floats())
        let reply = try #require(try a.receive(timeout: Self.wait))
        guard case let .helloReply(r) = reply.body else { Issue.record("expected hello_reply"); return }
        #expect(r.accepted)
    }

    @Test(arguments: ChannelHarness.allCases)
    func wrongVersionHelloIsRejectedAndReceiverKeepsServing(harness: ChannelHarness) throws {
        let (worker, coordinator, context) = try harness.makePair()
        defer { worker.close(); coordinator.close(); _ = context }
        let stale = try WireCodec().encode(Fixtures.hello(version: 99), version: 99)
        try worker.send(frames: stale, deadline: nil)
        try worker.send(Fixtures.hello(name: "w1"))

        // The coordinator's serving step: a bad message is a typed error and a reject, not a crash.
        var replies: [Bool] = []
        for _ in 0..<2 {
            do {
                let m = try #require(try coordinator.receive(timeout: Self.wait))
                guard case let .hello(h) = m.body else { Issue.record("expected hello"); return }
                #expect(h.workerName == "w1")
                try coordinator.send(Fixtures.reply(accepted: true))
                replies.append(true)
            } catch TransportError.wire(let e) {
                #expect(e == .versionMismatch(received: 99, expected: WireProtocol.version))
                try coordinator.send(Fixtures.reply(accepted: false, reason: "\(e)"))
                replies.append(false)
            }
        }
        #expect(replies == [false, true])
        for expected in [false, true] {
            let m = try #require(try worker.receive(timeout: Self.wait))
            guard case let .helloReply(r) = m.body else { Issue.record("expected reply"); return }
            #expect(r.accepted == expected)
            if !expected { #expect(r.reason.contains("protocol version 99")) }
        }
    }

    @Test(arguments: ChannelHarness.allCases)
    func malformedFramesAreTypedErrors(harness: ChannelHarness) throws {
        let (a, b, context) = try harness.makePair()
        defer { a.close(); b.close(); _ = context }
        try a.send(frames: [Frame(copying: [0xFF, 0x00, 0x13])], deadline: nil)
        let good = try WireCodec().encode(Fixtures.batch(rows: 2, hidden: 4))
        try a.send(frames: [good[0]], deadline: nil)  // tensor frame missing
        try a.send(Fixtures.hello())
        #expect(throws: TransportError.self) { try b.receive(timeout: Self.wait) }
        #expect(throws: TransportError.wire(.frameCountMismatch(described: 1, received: 0))) {
            try b.receive(timeout: Self.wait)
        }
        #expect(try b.receive(timeout: Self.wait)?.kind == "hello")
    }

    @Test(arguments: ChannelHarness.allCases)
    func receiveReturnsNilAtDeadline(harness: ChannelHarness) throws {
        let (a, b, context) = try harness.makePair()
        defer { a.close(); b.close(); _ = context }
        let start = ContinuousClock.now
        #expect(try b.receive(timeout: .milliseconds(150)) == nil)
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(145) && elapsed < .milliseconds(1000), "took \(elapsed)")
    }

    @Test(arguments: ChannelHarness.allCases)
    func closedChannelThrowsClosed(harness: ChannelHarness) throws {
        let (a, b, context) = try harness.makePair()
        defer { b.close(); _ = context }
        a.close()
        #expect(throws: TransportError.closed) { try a.send(Fixtures.hello()) }
        #expect(throws: TransportError.closed) { try a.receive(timeout: .milliseconds(10)) }
    }

    @Test func inProcessSendWaitsAtCapacityLikeAHighWaterMark() throws {
        let (a, b) = InProcessChannel.pair(capacity: 2)
        defer { a.close(); b.close() }
        try a.send(Fixtures.hello())
        try a.send(Fixtures.hello())
        #expect(throws: TransportError.timedOut(operation: "send")) {
            try a.send(Fixtures.hello(), deadline: .now + .milliseconds(30))
        }
        _ = try b.receive(timeout: .seconds(1))
        try a.send(Fixtures.hello(), deadline: .now + .seconds(1))
    }

    @Test func inProcessPeerCloseLooksLikeAVanishedZeroMQPeer() throws {
        let (a, b) = InProcessChannel.pair()
        defer { a.close() }
        b.close()
        #expect(throws: TransportError.timedOut(operation: "send")) {
            try a.send(Fixtures.hello(), deadline: .now + .milliseconds(50))
        }
        #expect(try a.receive(timeout: .milliseconds(20)) == nil)
        #expect(throws: TransportError.closed) { try b.receive(timeout: .milliseconds(10)) }
    }

    @Test(arguments: ChannelHarness.allCases)
    func oversizedTensorIsRejectedByReceiverLimit(harness: ChannelHarness) throws {
        // Receiver limits bigger than the header but smaller than the tensor frame. Over TCP libzmq
        // enforces ZMQ_MAXMSGSIZE itself (ZMQSocketTests); here both ends share the limit, so the
        // sender's own encode refuses first.
        let codec = WireCodec(limits: WireLimits(maxFrameBytes: 1024))
        let (a, b, context) = try harness.makePair(codec: codec)
        defer { a.close(); b.close(); _ = context }
        #expect(throws: TransportError.wire(.frameTooLarge(frame: 1, bytes: 4096, limit: 1024))) {
            try a.send(Fixtures.batch(rows: 1, hidden: 1024))
        }
        let big = try WireCodec().encode(Fixtures.batch(rows: 1, hidden: 1024))
        try a.send(frames: big, deadline: nil)
        try a.send(Fixtures.hello())
        #expect(throws: TransportError.wire(.frameTooLarge(frame: 1, bytes: 4096, limit: 1024))) {
            try b.receive(timeout: Self.wait)
        }
        #expect(try b.receive(timeout: Self.wait)?.kind == "hello", "the receiver keeps serving")
    }
}
