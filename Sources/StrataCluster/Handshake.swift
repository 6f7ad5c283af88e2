import StrataKernels
import Foundation
import StrataTransport
import StrataWire

/// The versioned handshake on a control connection: the worker speaks first with `Hello`; the
/// coordinator answers `HelloReply` (accept, or reject with a reason) and keeps serving either way.
///
/// Writes: `Hello` (worker → coordinator), `HelloReply` (coordinator → worker); see
/// proto/strata/v1/control.proto. A peer of another protocol version is rejected: its message
/// fails to decode with `WireError.versionMismatch` and the reply names both versions.
public enum Handshake {
    /// The first message a worker sends.
    public static func hello(workerName: String, capabilities: Strata_V1_Capabilities, software: String = "strata") -> WireMessage {
        var h = Strata_V1_Hello()
        h.protocolVersion = WireProtocol.version
        h.workerName = workerName
        h.capabilities = capabilities
        h.software = software
        return WireMessage(.hello(h))
    }

    /// The coordinator's answer to the first thing received on a control connection: the decoded
    /// message or the error decoding it. Returns the reply to send and, when accepted, the Hello.
    public static func answer(_ received: Result<WireMessage, Error>) -> (reply: WireMessage, hello: Strata_V1_Hello?) {
        switch received {
        case let .failure(error):
            return (reply(accepted: false, reason: "\(error)"), nil)
        case let .success(message):
            guard case let .hello(h) = message.body else {
                return (reply(accepted: false, reason: "expected hello first, got \(message.kind)"), nil)
            }
            guard h.protocolVersion == WireProtocol.version else {
                return (reply(accepted: false, reason: "hello declares protocol version \(h.protocolVersion), coordinator speaks \(WireProtocol.version)"), nil)
            }
            guard !h.workerName.isEmpty else { return (reply(accepted: false, reason: "hello has no worker name"), nil) }
            return (reply(accepted: true, reason: ""), h)
        }
    }

    /// Worker side: checks the coordinator's reply; throws `ClusterError.handshakeRejected` on a reject.
    public static func check(reply message: WireMessage) throws {
        guard case let .helloReply(r) = message.body else {
            throw ClusterError.handshakeRejected(reason: "expected hello_reply, got \(message.kind)")
        }
        guard r.accepted else { throw ClusterError.handshakeRejected(reason: r.reason) }
    }

    /// The reason in a HelloReply ("" for anything else).
    static func reason(_ m: WireMessage) -> String {
        if case let .helloReply(r) = m.body { return r.reason }
        return ""
    }

    static func reply(accepted: Bool, reason: String) -> WireMessage {
        var r = Strata_V1_HelloReply()
        r.accepted = accepted
        r.reason = reason
        r.protocolVersion = WireProtocol.version
        return WireMessage(.helloReply(r))
    }
}

/// What a worker box offers, for its Hello.
public enum WorkerCapabilities {
    /// Capabilities with the given memory budget and threads, and this machine's ISA as read from
    /// /proc/cpuinfo (Linux) with the kernel variant the worker runs after the architecture —
    /// e.g. "x86_64 kernels=avx512 avx2 avx512f avx512bw avx512_vnni".
    public static func detect(memoryBytes: Int, threads: Int, kernels: KernelISA = Kernels.active.isa) -> Strata_V1_Capabilities {
        var c = Strata_V1_Capabilities()
        c.memoryBytes = UInt64(max(0, memoryBytes))
        c.threads = UInt32(max(1, threads))
        var words = isa(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").split(separator: " ").map(String.init)
        words.insert("kernels=\(kernels.rawValue)", at: min(1, words.count))
        c.isa = words.joined(separator: " ")
        return c
    }

    /// The kernel variant named in a Hello's ISA string ("kernels=avx2"), nil when absent.
    public static func kernelVariant(isa: String) -> String? {
        isa.split(separator: " ").first { $0.hasPrefix("kernels=") }.map { String($0.dropFirst("kernels=".count)) }
    }

    /// The architecture plus the vector extensions Strata's kernels care about.
    public static func isa(cpuinfo: String) -> String {
        #if arch(x86_64)
        let arch = "x86_64"
        let interesting = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile"]
        let key = "flags"
        #elseif arch(arm64)
        let arch = "aarch64"
        let interesting = ["asimd", "fphp", "asimdhp", "asimddp", "sve", "sve2", "bf16", "i8mm"]
        let key = "Features"
        #else
        let arch = "unknown"
        let interesting: [String] = []
        let key = "flags"
        #endif
        let line = cpuinfo.split(separator: "\n").first { $0.hasPrefix(key) } ?? ""
        let flags = Set(line.split(separator: ":").last?.split(separator: " ").map(String.init) ?? [])
        return ([arch] + interesting.filter(flags.contains)).joined(separator: " ")
    }
}
