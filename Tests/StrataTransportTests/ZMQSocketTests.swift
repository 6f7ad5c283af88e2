import Foundation
import StrataTransport
import StrataWire
import Testing

/// Real libzmq over tcp://127.0.0.1 and inproc://: large zero-copy frames, deadlines, limits.
struct ZMQSocketTests {
    /// A fresh deadline for each wait (a stored instant would expire for the tests that run later).
    static var wait: ContinuousClock.Instant { .now + .seconds(30) }

    /// A bound PULL and a connected PUSH.
    static func pipe(_ context: ZMQContext, _ endpoint: String, maxMessageSize: Int64? = nil) throws -> (push: ZMQSocket, pull: ZMQSocket) {
        let pull = try context.socket(.pull)
        try pull.setLinger(milliseconds: 0)
        if let maxMessageSize { try pull.setMaxMessageSize(maxMessageSize) }
        let bound = try pull.bind(endpoint)
        let push = try context.socket(.push)
        try push.setLinger(milliseconds: 0)
        try push.connect(bound)
        return (push, pull)
    }

    /// A frame of `count` bytes with a recognizable pattern.
    static func patterned(_ count: Int) -> Frame {
        Frame(byteCount: count) { out in
            for i in stride(from: 0, to: count, by: 4) { out.storeBytes(of: UInt32(truncatingIfNeeded: i &* 2_654_435_761), toByteOffset: i, as: UInt32.self) }
        }
    }

    @Test(arguments: ["tcp://127.0.0.1:*", "inproc://big-frames"])
    func largeFrameRoundTripsWithoutCopy(endpoint: String) throws {
        let context = try ZMQContext()
        let (push, pull) = try Self.pipe(context, endpoint)
        defer { push.close(); pull.close() }
        let size = 32 << 20
        var big: Frame? = Self.patterned(size)
        weak let sentFrame = big
        let sentAddress = big!.bytes.baseAddress
        try push.send([Frame(copying: [1, 2, 3]), big!, Frame(copying: [])], deadline: Self.wait)
        big = nil  // libzmq now holds the only reference

        var received = try #require(try pull.receive(deadline: Self.wait))
        #expect(received.map(\.count) == [3, size, 0])
        #expect(received[0].array == [1, 2, 3])
        let expected = Self.patterned(size)
        let same = received[1].withUnsafeBytes { got in expected.withUnsafeBytes { memcmp(got.baseAddress!, $0.baseAddress!, size) == 0 } }
        #expect(same)
        if endpoint.hasPrefix("inproc") {
            // inproc hands over the very buffer the sender gave libzmq: zero copies end to end.
            #expect(received[1].bytes.baseAddress == sentAddress)
        }
        received.removeAll()
        // Once every message referencing it is gone, libzmq calls the free callback.
        let deadline = ContinuousClock.now + .seconds(5)
        while sentFrame != nil && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(sentFrame == nil, "the zero-copy frame was released")
    }

    @Test func receiveDeadlineReturnsOnTime() throws {
        let context = try ZMQContext()
        let (push, pull) = try Self.pipe(context, "tcp://127.0.0.1:*")
        defer { push.close(); pull.close() }
        for ms in [0, 50, 200] {
            let start = ContinuousClock.now
            #expect(try pull.receive(deadline: start + .milliseconds(ms)) == nil)
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(ms) && elapsed < .milliseconds(ms + 750), "deadline \(ms) ms took \(elapsed)")
        }
    }

    @Test func pollerReportsTheReadableSocket() throws {
        let context = try ZMQContext()
        let (push1, pull1) = try Self.pipe(context, "inproc://poll-1")
        let (push2, pull2) = try Self.pipe(context, "inproc://poll-2")
        defer { [push1, pull1, push2, pull2].forEach { $0.close() } }
        #expect(try ZMQPoller.readable([pull1, pull2], deadline: .now + .milliseconds(20)) == [])
        try push2.send([Frame(copying: [9])])
        #expect(try ZMQPoller.readable([pull1, pull2], deadline: Self.wait) == [1])
        #expect(try pull2.receive(deadline: Self.wait)?.first?.array == [9])
    }

    @Test func oversizedPartIsDroppedByMaxMessageSize() throws {
        let context = try ZMQContext()
        let (push, pull) = try Self.pipe(context, "tcp://127.0.0.1:*", maxMessageSize: 1 << 20)
        defer { push.close(); pull.close() }
        try push.send([Frame(copying: [0]), Self.patterned(2 << 20)], deadline: Self.wait)
        // libzmq disconnects the offending peer instead of delivering the part.
        #expect(try pull.receive(deadline: .now + .milliseconds(500)) == nil)
        // The receiver keeps serving: the sender reconnects and a small message gets through.
        let deadline = ContinuousClock.now + .seconds(10)
        var got: [Frame]?
        while got == nil && ContinuousClock.now < deadline {
            try push.send([Frame(copying: [7])], deadline: deadline)
            got = try pull.receive(deadline: .now + .milliseconds(300))
        }
        #expect(got?.first?.array == [7])
    }

    @Test func badEndpointIsTyped() throws {
        let context = try ZMQContext()
        let s = try context.socket(.pair)
        defer { s.close() }
        #expect(throws: TransportError.invalidEndpoint("nonsense://x")) { try s.bind("nonsense://x") }
        #expect(throws: TransportError.invalidOption(name: "ZMQ_CURVE_SECRETKEY", reason: "a CURVE key is 32 bytes, got 3")) {
            try s.setCurveServer(secretKey: [1, 2, 3])
        }
    }

    @Test func sendTimesOutWhenPeerQueueIsFull() throws {
        let context = try ZMQContext()
        let push = try context.socket(.push)
        defer { push.close() }
        try push.setLinger(milliseconds: 0)
        try push.setSendHighWaterMark(1)
        try push.setImmediate(true)
        try push.connect("tcp://127.0.0.1:9")  // nobody listens: nothing can be queued
        #expect(throws: TransportError.timedOut(operation: "send")) {
            try push.send([Frame(copying: [1])], deadline: .now + .milliseconds(100))
        }
    }

    @Test func curveEncryptedPairRoundTrips() throws {
        guard let server = try? CurveKeyPair.generate(), let client = try? CurveKeyPair.generate() else {
            print("skipping: this libzmq has no CURVE support")
            return
        }
        let context = try ZMQContext()
        let pull = try context.socket(.pull), push = try context.socket(.push)
        defer { pull.close(); push.close() }
        try [pull, push].forEach { try $0.setLinger(milliseconds: 0) }
        try pull.setCurveServer(secretKey: server.secretKey)
        let endpoint = try pull.bind("tcp://127.0.0.1:*")
        try push.setCurveClient(serverKey: server.publicKey, publicKey: client.publicKey, secretKey: client.secretKey)
        try push.connect(endpoint)
        try push.send([Frame(copying: Array("secret".utf8))], deadline: Self.wait)
        #expect(try pull.receive(deadline: .now + .seconds(5))?.first?.array == Array("secret".utf8))
    }
}
