import Foundation
import StrataTransport
import StrataWire

/// The ways to connect two `MessageChannel` ends, so one test body runs over each
/// (`@Test(arguments: ChannelHarness.allCases)`).
public enum ChannelHarness: String, CaseIterable, CustomStringConvertible, Sendable {
    case inProcess, zeroMQInproc, zeroMQTCP

    public var description: String { rawValue }

    /// Two connected ends (a, b) with the given codec. Keep the returned context alive while using them.
    public func makePair(codec: WireCodec = WireCodec()) throws -> (a: MessageChannel, b: MessageChannel, context: ZMQContext?) {
        switch self {
        case .inProcess:
            let (a, b) = InProcessChannel.pair(codec: codec)
            return (a, b, nil)
        case .zeroMQInproc, .zeroMQTCP:
            let context = try ZMQContext()
            let endpoint = self == .zeroMQTCP ? "tcp://127.0.0.1:*" : "inproc://harness-\(UUID().uuidString)"
            let (a, bound) = try ZeroMQChannel.bind(endpoint, context: context, codec: codec)
            let b = try ZeroMQChannel.connect(bound, context: context, codec: codec)
            return (a, b, context)
        }
    }
}

/// Small valid messages for channel tests.
public enum Fixtures {
    public static func hello(version: UInt32 = WireProtocol.version, name: String = "w0") -> WireMessage {
        var h = Strata_V1_Hello()
        h.protocolVersion = version
        h.workerName = name
        h.capabilities.memoryBytes = 1 << 30
        h.capabilities.threads = 2
        return WireMessage(.hello(h))
    }

    public static func batch(rows: Int, hidden: Int) -> WireMessage {
        var b = Strata_V1_Batch()
        var s = Strata_V1_SequenceEntry()
        s.sequenceID = 1
        s.tokenCount = UInt32(rows)
        b.sequences = [s]
        let values = (0..<rows * hidden).map { Float($0 % 1000) - 500 }
        return WireMessage(.batch(b), tensors: [WireTensor(encoding: values, shape: [rows, hidden])])
    }

    public static func reply(accepted: Bool, reason: String = "") -> WireMessage {
        var r = Strata_V1_HelloReply()
        r.accepted = accepted
        r.reason = reason
        r.protocolVersion = WireProtocol.version
        return WireMessage(.helloReply(r))
    }
}
