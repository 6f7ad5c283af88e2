import Foundation
import StrataTransport
import StrataWire
import Testing

/// CURVE on real libzmq sockets: only listed client keys get through (ZAP), and what crosses the
/// wire is ciphertext.
@Suite(.serialized)
struct CurveTests {
    static func note(_ text: String) -> WireMessage {
        var s = Strata_V1_Shutdown()
        s.reason = text
        return WireMessage(.shutdown(s))
    }

    static func reason(_ m: WireMessage?) -> String? {
        guard let m, case let .shutdown(s) = m.body else { return nil }
        return s.reason
    }

    /// A sender with `pair` (CURVE) or none (plain) to the server at `endpoint`.
    static func client(_ pair: CurveKeyPair?, to endpoint: String, serverKey: [UInt8]) throws -> (Outbox, ZeroMQNetwork) {
        let network: ZeroMQNetwork
        if let pair {
            network = try ZeroMQNetwork(context: try ZMQContext(),
                                        curve: CurveSecurity(keyPair: pair, allowedClients: [], serverKeys: [endpoint: serverKey]))
        } else {
            network = ZeroMQNetwork(context: try ZMQContext())
        }
        return (try network.connect(endpoint), network)
    }

    @Test func onlyListedKeysGetThrough() throws {
        let server = try CurveKeyPair.generate(), good = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
        let endpoint = "tcp://127.0.0.1:\(try FreePort.next())"
        let curve = CurveSecurity(keyPair: server, allowedClients: [good.publicKey])
        let network = try ZeroMQNetwork(context: try ZMQContext(), curve: curve)
        let inbox = try network.bind(endpoint)
        defer { inbox.close() }

        let (s, sNet) = try Self.client(stranger, to: endpoint, serverKey: server.publicKey)
        let (p, pNet) = try Self.client(nil, to: endpoint, serverKey: server.publicKey)
        try? s.send(Self.note("from a stranger"), deadline: .now + .seconds(2))
        try? p.send(Self.note("in plain text"), deadline: .now + .seconds(2))
        Thread.sleep(forTimeInterval: 0.5)
        let (g, gNet) = try Self.client(good, to: endpoint, serverKey: server.publicKey)
        try g.send(Self.note("from a listed key"), deadline: .now + .seconds(5))

        #expect(Self.reason(try inbox.receive(deadline: .now + .seconds(10))) == "from a listed key")
        #expect(try inbox.receive(deadline: .now + .milliseconds(1500)) == nil, "an unlisted or plain peer got a message in")
        #expect(curve.refusedKeys.contains(Z85.encode(stranger.publicKey)), "the stranger's key was not refused: \(curve.refusedKeys)")
        // A key learnt later (cluster.yaml gained a worker) is accepted from then on.
        curve.allow(stranger.publicKey)
        let (s2, s2Net) = try Self.client(stranger, to: endpoint, serverKey: server.publicKey)
        try s2.send(Self.note("now listed"), deadline: .now + .seconds(5))
        #expect(Self.reason(try inbox.receive(deadline: .now + .seconds(10))) == "now listed")
        for o in [s, p, g, s2] { o.close() }
        withExtendedLifetime((sNet, pNet, gNet, s2Net)) {}
    }

    @Test func z85KeysRoundTrip() throws {
        let pair = try CurveKeyPair.generate()
        let text = Z85.encode(pair.publicKey)
        #expect(text.count == 40)
        #expect(Z85.decodeKey(text) == pair.publicKey)
        #expect(Z85.decodeKey("too short") == nil)
        #expect(Z85.decodeKey(String(repeating: "~", count: 40)) == nil || Z85.decodeKey(String(repeating: "~", count: 40))?.count == 32)
    }

    /// tcpdump on loopback while a marker crosses a CURVE link and then a plain one: the capture
    /// holds the marker only for the plain link (so it does see payloads), never for CURVE.
    @Test(.enabled(if: Capture.available, "needs root and tcpdump"))
    func curveLinkCarriesNoPlaintext() throws {
        let marker = "prompt-\(UUID().uuidString)"
        func captured(curve: Bool) throws -> Data {
            let port = try FreePort.next(), endpoint = "tcp://127.0.0.1:\(port)"
            let file = NSTemporaryDirectory() + "strata-capture-\(UUID().uuidString).pcap"
            defer { try? FileManager.default.removeItem(atPath: file) }
            let dump = Process()
            dump.executableURL = URL(fileURLWithPath: Capture.tcpdump)
            dump.arguments = ["-i", "lo", "-U", "-w", file, "tcp port \(port)"]
            dump.standardError = FileHandle.nullDevice
            try dump.run()
            Thread.sleep(forTimeInterval: 1.5)
            let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
            let net = curve ? try ZeroMQNetwork(context: try ZMQContext(), curve: CurveSecurity(keyPair: server, allowedClients: [client.publicKey]))
                : ZeroMQNetwork(context: try ZMQContext())
            let inbox = try net.bind(endpoint)
            let (out, outNet) = try Self.client(curve ? client : nil, to: endpoint, serverKey: server.publicKey)
            try out.send(Self.note(marker), deadline: .now + .seconds(5))
            #expect(Self.reason(try inbox.receive(deadline: .now + .seconds(10))) == marker)
            Thread.sleep(forTimeInterval: 1)
            // SIGKILL: a child of the test process may inherit SIGINT/SIGTERM blocked; -U has
            // already written every packet.
            kill(dump.processIdentifier, SIGKILL)
            dump.waitUntilExit()
            out.close(); inbox.close()
            withExtendedLifetime(outNet) {}
            return FileManager.default.contents(atPath: file) ?? Data()
        }
        let plain = try captured(curve: false)
        #expect(plain.range(of: Data(marker.utf8)) != nil, "the capture did not see the plain payload (\(plain.count) bytes)")
        let secret = try captured(curve: true)
        #expect(secret.count > 200, "nothing was captured")
        #expect(secret.range(of: Data(marker.utf8)) == nil, "the marker crossed a CURVE link in plain text")
    }
}

enum Capture {
    static let tcpdump = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? ""
    static var available: Bool { getuid() == 0 && !tcpdump.isEmpty }
}
