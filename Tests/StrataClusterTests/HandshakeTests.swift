import StrataCluster
import StrataKernels
import StrataTransport
import StrataTransportTesting
import StrataWire
import Testing

/// The control-connection handshake over each channel harness: a stale worker is rejected with a
/// reason naming both versions, and the coordinator goes on to accept the next worker.
struct HandshakeTests {
    @Test(arguments: ChannelHarness.allCases)
    func staleVersionRejectedThenCurrentAccepted(harness: ChannelHarness) throws {
        let (worker, coordinator, context) = try harness.makePair()
        defer { worker.close(); coordinator.close(); _ = context }
        let capabilities = WorkerCapabilities.detect(memoryBytes: 1 << 30, threads: 2)
        let hello = Handshake.hello(workerName: "w0", capabilities: capabilities)
        try worker.send(frames: try WireCodec().encode(hello, version: 99), deadline: nil)
        try worker.send(hello)

        var accepted: [String] = []
        for _ in 0..<2 {
            let received = Result { try #require(try coordinator.receive(timeout: .seconds(5))) }
            let (reply, h) = Handshake.answer(received)
            try coordinator.send(reply)
            if let h { accepted.append(h.workerName) }
        }
        #expect(accepted == ["w0"])

        let rejection = try #require(try worker.receive(timeout: .seconds(5)))
        #expect(throws: ClusterError.handshakeRejected(reason: "transport: rejected message: wire: protocol version 99 received, this build speaks 1")) {
            try Handshake.check(reply: rejection)
        }
        try Handshake.check(reply: try #require(try worker.receive(timeout: .seconds(5))))
    }

    @Test func otherFirstMessagesAreRejected() {
        var hb = Strata_V1_Heartbeat()
        hb.sequence = 1
        let (reply, hello) = Handshake.answer(.success(WireMessage(.heartbeat(hb))))
        #expect(hello == nil)
        #expect(throws: ClusterError.handshakeRejected(reason: "expected hello first, got heartbeat")) { try Handshake.check(reply: reply) }
    }

    @Test func isaStringFromCPUInfo() {
        #if arch(x86_64)
        let info = "processor : 0\nflags\t\t: fpu sse2 avx2 fma f16c avx512f avx512bw avx512_vnni\n"
        #expect(WorkerCapabilities.isa(cpuinfo: info) == "x86_64 avx2 fma f16c avx512f avx512bw avx512_vnni")
        #endif
        let isa = WorkerCapabilities.detect(memoryBytes: 1, threads: 1, kernels: .avx2).isa
        #expect(isa.split(separator: " ").dropFirst().first == "kernels=avx2", "\(isa)")
        #expect(WorkerCapabilities.kernelVariant(isa: isa) == "avx2")
        #expect(WorkerCapabilities.kernelVariant(isa: "x86_64 avx2 fma") == nil)
    }
}
