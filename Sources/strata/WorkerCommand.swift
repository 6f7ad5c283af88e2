import ArgumentParser
import Dispatch
import Foundation
import Logging
import StrataCluster
import StrataTransport

/// `strata worker --listen tcp://HOST:PORT`: one pipeline stage. Waits for a coordinator, loads
/// the layers it is assigned from its own disk, runs batches until told to shut down (or SIGINT/SIGTERM).
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run one pipeline stage: wait for a coordinator, load the assigned layers, run batches.")

    @Option(help: "Endpoint to listen on, e.g. tcp://0.0.0.0:5551 (the coordinator and the upstream stage connect here).")
    var listen: String
    @Option(help: "Worker name (default: the name the coordinator gives it from cluster.yaml).")
    var name: String?
    @Option(help: "Compute threads (default: all cores; cluster.yaml's threads overrides).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Memory this box offers for weights + KV cache, e.g. 24GiB (default: physical memory).")
    var memory: String?
    @Flag(help: "Exit when the parent process exits (used by strata up), within 200 ms, mid-step too.")
    var exitWithParent = false
    @Option(help: "With --exit-with-parent: the parent's pid (so a parent that died before this process started is noticed).")
    var parentPid: Int32?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info
    @Option(help: "CURVE key file of this worker (strata keys generate); with --coordinator-key, every link is authenticated and encrypted.")
    var keyFile: String?
    // Unconditional: a Z85 key may begin with '-' (1 key in 85), which would otherwise read as an
    // option and fail with "Missing value" — a CI run of the CURVE capture test did.
    @Option(parsing: .unconditional, help: "The coordinator's CURVE public key (cluster.yaml security.coordinator_key).")
    var coordinatorKey: String?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if let memory, ByteSize.parse(memory) == nil { throw ValidationError("--memory '\(memory)' is not a size like 2GiB or 512MiB") }
    }

    func run() throws {
        CLILogging.bootstrap(logLevel)
        let network = try SecureNetwork.worker(listen: listen, keyFile: keyFile, coordinatorKey: coordinatorKey)
        let worker = Worker(network: network, options: WorkerOptions(
            listen: listen, name: name, threads: threads,
            memoryBytes: memory.flatMap(ByteSize.parse) ?? Int(ProcessInfo.processInfo.physicalMemory),
            exitWithParent: exitWithParent, parentPID: parentPid))
        let signals = Signals.onInterrupt { worker.stop() }
        defer { withExtendedLifetime(signals) {} }
        do { try worker.run() } catch let e as TransportError {
            throw ValidationError("\(e)")
        }
    }
}

/// SIGINT/SIGTERM handlers that call `action` once instead of killing the process.
final class Signals {
    private var sources: [DispatchSourceSignal] = []

    static func onInterrupt(_ action: @escaping @Sendable () -> Void) -> Signals {
        let s = Signals()
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler(handler: action)
            src.resume()
            s.sources.append(src)
        }
        return s
    }
}
