import ArgumentParser
import Dispatch
import Foundation
import Logging
import StrataCluster
import StrataModel
import StrataServer
import StrataTransport

/// Options of `strata coordinator` and `strata up`.
struct ClusterRunOptions: ParsableArguments {
    @Option(help: "Path to cluster.yaml.")
    var config: String = "cluster.yaml"
    @Option(help: "Run one plain completion of this text through the cluster, print it as `strata generate` does, and exit.")
    var prompt: String?
    @OptionGroup var completion: CompletionOptions
    @Option(help: "Seconds to wait for every worker to join.")
    var joinTimeout: Int = 120
    @Option(help: "Seconds without heartbeats before a worker is declared lost (default: cluster.yaml's heartbeat.timeout, else 10).")
    var heartbeatTimeout: Double?
    @Option(help: "Batches the server keeps in flight (default: one per worker, so every stage computes at once; 1 suits several workers sharing one small box).")
    var lanes: Int?
    @Flag(help: "Send activations between stages as bf16 (half the bytes, for slow links).")
    var bf16Activations = false
    @Option(help: "Most tokens one step carries (chunked prefill; overrides cluster.yaml's max_step_tokens; 0 = no limit, for comparisons).")
    var maxStepTokens: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: warning with --prompt, else info).")
    var logLevel: Logger.Level?

    func validate() throws {
        guard joinTimeout > 0, (heartbeatTimeout ?? 1) > 0 else { throw ValidationError("timeouts must be positive") }
        if let lanes, lanes < 1 { throw ValidationError("--lanes must be at least 1") }
    }

    func coordinatorOptions(_ cluster: ClusterConfig) -> CoordinatorOptions {
        let timeout = heartbeatTimeout ?? cluster.heartbeat.timeout
        return CoordinatorOptions(joinTimeout: .seconds(joinTimeout),
                                  heartbeatInterval: .milliseconds(Int(min(cluster.heartbeat.interval, timeout / 2) * 1000)),
                                  heartbeatTimeout: .milliseconds(Int(timeout * 1000)), bf16Activations: bf16Activations)
    }

    func loadCluster() throws -> ClusterConfig {
        CLILogging.bootstrap(logLevel ?? (prompt == nil ? .info : .warning))
        return try readCluster()
    }

    /// cluster.yaml with the command line's overrides (at start, and at every edit the watcher sees).
    func readCluster() throws -> ClusterConfig {
        var cluster = try ClusterConfig.load(path: config, homeDirectory: NSHomeDirectory())
        if let maxStepTokens {
            guard maxStepTokens == 0 || maxStepTokens >= cluster.maxBatch else {
                throw ValidationError("--max-step-tokens must be 0 (no limit) or at least max_batch (\(cluster.maxBatch))")
            }
            cluster.maxStepTokens = maxStepTokens
        }
        return cluster
    }

    /// Starts the coordinator; runs the prompt (returns after it) or serves until SIGINT/SIGTERM.
    /// `stopWorkers` are told to shut down at the end (all of them after a prompt).
    func runCoordinator(_ cluster: ClusterConfig, children: LocalWorkers?) throws {
        let network = try SecureNetwork.coordinator(cluster)
        let coordinator = try Coordinator(cluster: cluster, network: network, options: coordinatorOptions(cluster))
        let metrics = ServerMetrics()
        if prompt == nil { Serving.observe(coordinator, into: metrics) }
        let started = Atomic()
        children?.onUnexpectedExit = { [weak children] name, status in
            guard started.value else {
                // Before the cluster runs, a worker that dies is a startup failure (e.g. its port is taken).
                coordinator.abort(ClusterError.workerFailed(worker: name, reason: "process exited with status \(status)"))
                return
            }
            // Running: the coordinator re-plans around it at once; the process is started again
            // and rejoins when the coordinator's next Join reaches it.
            coordinator.workerExited(name, status: status)
            children?.restart(name, after: 1)
        }
        do { try coordinator.start(); started.value = true } catch {
            children?.expectExit()
            coordinator.shutdown(workers: children != nil)
            children?.stop()
            throw error
        }
        if let prompt {
            let (tokenizer, stops) = try Completion.tokenizer(modelPath: cluster.modelPath)
            let model = ClusterModel(coordinator: coordinator)
            let result = Result {
                try Completion.run(prompt: prompt, model: model, tokenizer: tokenizer, stopTokens: stops,
                                   maxTokens: completion.maxTokens, sampling: try completion.sampling())
            }
            children?.expectExit()
            coordinator.shutdown(workers: children != nil)
            children?.stop()
            let stats = try result.get()
            stderr("\n\(Completion.speedLines(stats))\n")
            return
        }
        let watcher = ConfigWatcher(path: config, coordinator: coordinator, children: children, read: readCluster)
        watcher.start()
        let served = Result {
            try Serving.run(cluster: cluster, coordinator: coordinator, metrics: metrics, lanes: lanes)
        }
        watcher.stop()
        children?.expectExit()
        coordinator.shutdown(workers: children != nil)
        children?.stop()
        try served.get()
    }
}

/// `strata coordinator --config cluster.yaml`: joins the workers listed in cluster.yaml (started
/// separately with `strata worker`), assigns their layers and serves.
struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Plan cluster.yaml, join its workers, assign their layers and serve.")

    @OptionGroup var options: ClusterRunOptions

    func run() throws {
        let cluster = try options.loadCluster()
        try options.runCoordinator(cluster, children: nil)
    }
}

/// `strata up --config cluster.yaml`: the coordinator plus every worker whose endpoint is on this
/// machine, in one command.
struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the coordinator and the local workers of cluster.yaml; Ctrl-C stops them all.")

    @OptionGroup var options: ClusterRunOptions

    func run() throws {
        let cluster = try options.loadCluster()
        let local = cluster.workers.filter { LocalWorkers.isLocal($0.endpoint) }
        let children = try LocalWorkers.start(local, logLevel: options.logLevel ?? (options.prompt == nil ? .info : .warning),
                                              security: cluster.security)
        try options.runCoordinator(cluster, children: children)
    }
}

/// Watches cluster.yaml while the cluster serves: a valid edit is applied live (`Coordinator.apply`:
/// added workers join, removed ones drain and leave; under `strata up`, local workers that were
/// added are started and removed ones are let go); an invalid one is logged and the running
/// cluster keeps its plan.
final class ConfigWatcher: @unchecked Sendable {
    let path: String
    let coordinator: Coordinator
    let children: LocalWorkers?
    /// Reads the file with the command line's overrides applied.
    let read: () throws -> ClusterConfig
    private let stopped = Atomic()
    private var last: Data?
    private let log = Logger(label: "strata.config")

    init(path: String, coordinator: Coordinator, children: LocalWorkers?, read: @escaping () throws -> ClusterConfig) {
        self.path = path; self.coordinator = coordinator; self.children = children; self.read = read
        last = FileManager.default.contents(atPath: path)
    }

    func start() {
        let t = Thread { [self] in
            while !stopped.value {
                Thread.sleep(forTimeInterval: 1)
                check()
            }
        }
        t.name = "strata.config.watch"
        t.start()
    }

    func stop() { stopped.value = true }

    private func check() {
        guard let data = FileManager.default.contents(atPath: path), data != last else { return }
        last = data
        let new: ClusterConfig
        do { new = try read() } catch {
            log.error("cluster.yaml changed but is invalid; the cluster keeps its current plan", metadata: ["error": "\(error)"])
            return
        }
        let change = ConfigChange(from: coordinator.cluster, to: new)
        do {
            if let children {
                for w in new.workers where change.added.contains(w.name) && LocalWorkers.isLocal(w.endpoint) { try children.add(w) }
                for name in change.removed { children.retire(name) }
            }
            try coordinator.apply(new)
        } catch {
            log.error("cluster.yaml change not applied", metadata: ["error": "\(error)"])
        }
    }
}
