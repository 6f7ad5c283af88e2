import Dispatch
import Foundation
import Logging
import StrataCluster
import StrataModel
import StrataServer
import StrataTokenizer

/// The coordinator's HTTP side: the OpenAI-compatible server over a continuous-batching
/// `Scheduler` with one lane per pipeline stage (so every stage computes one batch while the
/// others are in flight), fed per-stage and per-hop timings from the cluster.
enum Serving {
    /// Metrics shared by the server and the coordinator's timing observer; create before
    /// `Coordinator.start()` and pass to `attach`.
    static func observe(_ coordinator: Coordinator, into metrics: ServerMetrics) {
        coordinator.onTimings = { stages, hops in
            for s in stages { metrics.observeStage(name: s.worker, seconds: s.seconds) }
            for h in hops { metrics.observeHop(name: h.hop, seconds: h.seconds) }
        }
    }

    /// Serves until SIGINT/SIGTERM. The first signal drains: no new requests (503), running
    /// ones go on for up to cluster.yaml's `drain_timeout`, then what is left fails with an error
    /// and the server returns. A second signal fails what is left at once.
    static func run(cluster: ClusterConfig, coordinator: Coordinator, metrics: ServerMetrics, lanes: Int?) throws {
        let (tokenizer, stops) = try Completion.tokenizer(modelPath: cluster.modelPath)
        let template = try? ChatTemplate.load(modelPath: cluster.modelPath)
        let budget = cluster.maxStepTokens ?? StepBudget.defaultTokens(config: coordinator.model, maxBatch: cluster.maxBatch)
        let engine = Scheduler(model: ClusterModel(coordinator: coordinator, maxStepTokens: budget), lanes: lanes ?? defaultLanes(coordinator.plan),
                               maxBatch: cluster.maxBatch, maxQueue: max(16, 4 * cluster.maxBatch), contextLength: cluster.context,
                               maxStepTokens: budget)
        defer { engine.shutdown() }
        let (host, port) = try hostPort(cluster.coordinator.http)
        let configuration = ServerConfiguration(host: host, port: port, modelName: modelName(cluster.modelPath),
                                                apiKeys: cluster.apiKeys, stopTokens: stops)
        let server = try OpenAIServer(configuration: configuration, engine: engine, tokenizer: tokenizer, chatTemplate: template,
                                      metrics: metrics, workerHealth: { health(coordinator) })
        let finished = DispatchSemaphore(value: 0)
        let outcome = ResultBox()
        Task {
            do { try await server.run() } catch { outcome.error = error }
            finished.signal()
        }
        let drain = Drain(engine: engine, coordinator: coordinator, server: server, timeout: cluster.drainTimeout)
        let signals = Signals.onInterrupt { drain.signal() }
        let log = Logger(label: "strata.server")
        if !host.hasPrefix("127.") && host != "localhost" && cluster.apiKeys.isEmpty {
            log.warning("serving on \(host) without API keys: anyone who can reach it can use it")
        }
        log.info("scheduler", metadata: ["max_step_tokens": "\(budget)", "max_batch": "\(cluster.maxBatch)", "lanes": "\(engine.lanes)"])
        stderr("serving \(configuration.modelName) at http://\(host):\(port)/v1 (\(coordinator.plan.stages.count) workers); Ctrl-C stops\n")
        finished.wait()
        withExtendedLifetime(signals) {}
        if let e = outcome.error { throw e }
    }

    /// One batch in flight per box: stages on different boxes compute at once, while stages that
    /// share a box's cores would only take turns (measured on the 2-core dev VM with 3 local
    /// workers: 8 streams gave 0.70× one stream with 3 lanes, 1.59× with 1).
    static func defaultLanes(_ plan: Plan) -> Int {
        let hosts = Set(plan.stages.map { s -> String in
            let rest = s.endpoint.split(separator: "://").last.map(String.init) ?? s.endpoint
            return rest.lastIndex(of: ":").map { String(rest[..<$0]) } ?? rest
        })
        return max(1, hosts.count)
    }

    static func hostPort(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw ClusterError.invalidValue(key: "coordinator.http", line: 0, value: text, reason: "must be HOST:PORT")
        }
        return (String(text[..<colon]), port)
    }

    /// The id `/v1/models` shows: the model file's name without extension, or the directory's name.
    static func modelName(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.pathExtension == "gguf" ? url.deletingPathExtension().lastPathComponent : url.lastPathComponent
    }

    static func health(_ c: Coordinator) -> [WorkerHealth] {
        let failure = c.failureReason, timeout = Double(c.options.heartbeatTimeout.components.seconds)
            + Double(c.options.heartbeatTimeout.components.attoseconds) * 1e-18
        return c.health().map { w in
            WorkerHealth(name: w.worker, address: c.cluster.workers.first { $0.name == w.worker }?.endpoint,
                         layerRange: w.layers.isEmpty ? "none" : "[\(w.layers.lowerBound),\(w.layers.upperBound))",
                         healthy: failure == nil && w.lostReason == nil && w.secondsSinceSeen < timeout,
                         lastHeartbeatSecondsAgo: w.secondsSinceSeen.isFinite ? w.secondsSinceSeen : nil,
                         detail: w.lostReason.map { "lost: \($0)" } ?? failure ?? "\(w.openSequences) sequences open",
                         kernelVariant: w.kernelVariant)
        }
    }
}

final class ResultBox: @unchecked Sendable {
    var error: Error?
}

/// SIGINT/SIGTERM while serving: the first signal stops new connections and requests and lets
/// running ones finish for up to `timeout` seconds; then (or at a second signal) what is left
/// fails with an error — the cluster is told to give up on batches in flight, so no lane stays
/// blocked — and the server returns.
final class Drain: @unchecked Sendable {
    let engine: Scheduler
    let coordinator: Coordinator
    let server: OpenAIServer
    let timeout: Double
    private let lock = NSLock()
    private var signals = 0
    private let log = Logger(label: "strata.server")

    init(engine: Scheduler, coordinator: Coordinator, server: OpenAIServer, timeout: Double) {
        self.engine = engine; self.coordinator = coordinator; self.server = server; self.timeout = timeout
    }

    func signal() {
        lock.lock(); signals += 1; let n = signals; lock.unlock()
        if n > 1 {
            log.notice("second signal: failing what is left now")
            stopNow()
            return
        }
        let running = engine.activeCount + engine.queueDepth
        log.notice("draining", metadata: ["requests": "\(running)", "timeout_seconds": "\(timeout)"])
        let server = self.server
        Task { await server.shutdown() }
        let t = Thread { [self] in
            let clean = engine.drain(timeout: .milliseconds(Int(timeout * 1000)))
            if !clean { log.warning("drain timed out; failing the requests still running", metadata: ["left": "\(engine.activeCount + engine.queueDepth)"]) }
            stopNow()
        }
        t.name = "strata.drain"
        t.start()
    }

    private func stopNow() {
        coordinator.abort(ClusterError.shutDown)
        engine.shutdown()
    }
}
