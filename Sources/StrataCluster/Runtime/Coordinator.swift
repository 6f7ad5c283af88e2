import Foundation
import Logging
import StrataModel
import StrataTransport
import StrataWire

/// Deadlines of the coordinator's control plane.
public struct CoordinatorOptions: Sendable {
    /// How long to wait for every worker's Hello.
    public var joinTimeout: Duration
    /// How long loading the slices may take.
    public var loadTimeout: Duration
    public var heartbeatInterval: Duration
    /// A worker silent this long is declared lost and its in-flight batches fail.
    public var heartbeatTimeout: Duration
    /// Send activations between stages as bf16 (half the bytes; for slow links).
    public var bf16Activations: Bool

    public init(joinTimeout: Duration = .seconds(120), loadTimeout: Duration = .seconds(900),
                heartbeatInterval: Duration = .seconds(1), heartbeatTimeout: Duration = .seconds(30),
                bf16Activations: Bool = false) {
        self.joinTimeout = joinTimeout; self.loadTimeout = loadTimeout
        self.heartbeatInterval = heartbeatInterval; self.heartbeatTimeout = heartbeatTimeout
        self.bf16Activations = bf16Activations
    }
}

/// The control plane and the ring's entry and exit: joins the workers of a plan, assigns their
/// slices, pushes batches to the first stage and matches the last stage's Results to the batches
/// waiting for them. Several batches may be in flight at once (one per calling thread).
public final class Coordinator: @unchecked Sendable {
    public let cluster: ClusterConfig
    public let model: ModelConfig
    public let plan: Plan
    public let options: CoordinatorOptions
    public let id: UInt64 = .random(in: 1...UInt64.max)
    public let planID: UInt64 = .random(in: 1...UInt64.max)
    private let network: Network
    private let logger: Logger
    private var inbox: Inbox?
    private var outboxes: [Outbox] = []   // one per stage, in pipeline order
    private let lock = NSLock()
    private var pending: [UInt64: PendingBatch] = [:]
    private var lastSeen: [String: ContinuousClock.Instant] = [:]
    private var openSequences: [String: Int] = [:]
    private var nextBatch: UInt64 = 1
    private var submitted: [UInt64: UInt64] = [:]   // batch → unix nanos when pushed
    /// Called with each finished batch's timings: per-stage compute seconds and per-hop transfer
    /// seconds (hop "coordinator→w0", "w0→w1", …, "w2→coordinator"; includes queueing at the
    /// receiver and, across boxes, clock skew).
    public var onTimings: (@Sendable (_ stages: [(worker: String, seconds: Double)], _ hops: [(hop: String, seconds: Double)]) -> Void)?
    private var failure: ClusterError?
    private let stopping = Atomic()
    private var threads: [Thread] = []
    private let done = DispatchGroup()

    public init(cluster: ClusterConfig, network: Network, options: CoordinatorOptions = CoordinatorOptions(),
                logger: Logger = Logger(label: "strata.coordinator")) throws {
        self.cluster = cluster
        self.network = network
        self.options = options
        self.logger = logger
        model = try ModelMetadata.load(path: cluster.modelPath)
        plan = try Planner.plan(config: model, cluster: cluster)
    }

    /// The endpoint the coordinator receives on (the real port when configured as `:*`).
    public var controlEndpoint: String? { inbox?.endpoint }

    /// Joins every worker of the plan, assigns the slices and waits until all are loaded.
    public func start() throws {
        let box = try network.bind(cluster.coordinator.control)
        inbox = box
        outboxes = try plan.stages.map { try network.connect($0.endpoint) }
        logger.info("plan", metadata: ["stages": "\(plan.stages.map { "\($0.worker)[\($0.layerRange.lowerBound),\($0.layerRange.upperBound))" })"])
        try joinAll()
        try assignAll()
        let now = ContinuousClock.now
        for s in plan.stages { lastSeen[s.worker] = now }
        spawn("strata.coordinator.receive") { [self] in receiveLoop() }
        spawn("strata.coordinator.heartbeat") { [self] in heartbeatLoop() }
        logger.info("cluster ready", metadata: ["workers": "\(plan.stages.count)"])
    }

    private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        done.enter()
        let t = Thread { [done] in body(); done.leave() }
        t.name = name
        t.start()
        threads.append(t)
    }

    private func joinAll() throws {
        var waiting = Dictionary(uniqueKeysWithValues: plan.stages.enumerated().map { ($1.worker, $0) })
        let deadline = ContinuousClock.now + options.joinTimeout
        var nextJoin = ContinuousClock.now
        while !waiting.isEmpty {
            if ContinuousClock.now >= nextJoin {
                for (name, i) in waiting { try sendJoin(stage: i, name: name) }
                nextJoin = .now + .seconds(2)
            }
            guard ContinuousClock.now < deadline else {
                throw ClusterError.workerTimeout(worker: waiting.keys.sorted().joined(separator: ", "), waitingFor: "join",
                                                 seconds: seconds(options.joinTimeout))
            }
            guard let m = try receiveControl(until: min(deadline, nextJoin)) else { continue }
            guard case let .hello(h) = m.body, h.coordinatorID == id else { continue }
            let (reply, accepted) = Handshake.answer(.success(m))
            guard let i = waiting[h.workerName] else {
                logger.warning("hello from a worker this plan does not expect", metadata: ["name": "\(h.workerName)"])
                continue
            }
            if accepted == nil {
                try outboxes[i].send(reply, deadline: .now + .seconds(5))
                throw ClusterError.handshakeRejected(reason: "\(h.workerName): \(Handshake.reason(reply))")
            }
            let stage = plan.stages[i]
            if Int(h.capabilities.memoryBytes) < stage.totalBytes {
                let reason = "offers \(ByteSize.gib(Int(h.capabilities.memoryBytes))) GiB but its slice needs \(ByteSize.gib(stage.totalBytes)) GiB"
                try outboxes[i].send(Handshake.reply(accepted: false, reason: reason), deadline: .now + .seconds(5))
                throw ClusterError.workerFailed(worker: h.workerName, reason: reason)
            }
            try outboxes[i].send(reply, deadline: .now + .seconds(5))
            logger.info("worker joined", metadata: ["worker": "\(h.workerName)", "isa": "\(h.capabilities.isa)",
                                                     "threads": "\(h.capabilities.threads)"])
            waiting[h.workerName] = nil
        }
    }

    private func sendJoin(stage i: Int, name: String) throws {
        var j = Strata_V1_Join()
        j.protocolVersion = WireProtocol.version
        j.replyEndpoint = inbox!.endpoint
        j.workerName = name
        j.coordinatorID = id
        try outboxes[i].send(WireMessage(.join(j)), deadline: .now + .seconds(5))
    }

    private func assignAll() throws {
        for (i, s) in plan.stages.enumerated() {
            var a = Strata_V1_Assign()
            a.modelPath = cluster.modelPath
            a.layerStart = UInt32(s.layerRange.lowerBound)
            a.layerEnd = UInt32(s.layerRange.upperBound)
            a.firstStage = s.isFirst
            a.lastStage = s.isLast
            a.precision = cluster.precision == .f32 ? .f32 : .fp8
            a.downstreamEndpoint = i + 1 < plan.stages.count ? plan.stages[i + 1].endpoint : inbox!.endpoint
            a.kvBudgetBytes = UInt64(s.kvBytes)
            a.context = UInt32(cluster.context)
            a.maxBatch = UInt32(cluster.maxBatch)
            a.planID = planID
            a.bf16Activations = options.bf16Activations
            a.threads = UInt32(cluster.workers.first { $0.name == s.worker }?.threads ?? 0)
            try outboxes[i].send(WireMessage(.assign(a)), deadline: .now + .seconds(5))
        }
        var waiting = Set(plan.stages.map(\.worker))
        let deadline = ContinuousClock.now + options.loadTimeout
        while !waiting.isEmpty {
            guard let m = try receiveControl(until: deadline) else {
                throw ClusterError.workerTimeout(worker: waiting.sorted().joined(separator: ", "), waitingFor: "assign (loading its layers)",
                                                 seconds: seconds(options.loadTimeout))
            }
            switch m.body {
            case let .assignReply(r) where r.planID == planID:
                guard r.ok else { throw ClusterError.workerFailed(worker: r.workerName, reason: r.error.message) }
                logger.info("worker loaded", metadata: ["worker": "\(r.workerName)", "weights_mib": "\(r.weightBytes >> 20)",
                                                         "seconds": "\(String(format: "%.2f", r.loadSeconds))"])
                waiting.remove(r.workerName)
            case let .error(e):
                throw ClusterError.workerFailed(worker: e.workerName, reason: e.message)
            default: continue
            }
        }
    }

    /// The next decodable control message before `deadline`; undecodable ones are logged and
    /// skipped. Throws the reason given to `abort` (e.g. a local worker process died).
    private func receiveControl(until deadline: ContinuousClock.Instant) throws -> WireMessage? {
        while ContinuousClock.now < deadline {
            lock.lock(); let f = failure; lock.unlock()
            if let f { throw f }
            do {
                if let m = try inbox!.receive(deadline: min(deadline, .now + .milliseconds(250))) { return m }
            } catch TransportError.wire { continue }
        }
        return nil
    }

    /// Fails the cluster: startup stops waiting, waiting batches fail with `error`.
    public func abort(_ error: ClusterError) {
        lock.lock()
        if failure == nil { failure = error }
        let failed = Array(pending.values)
        pending.removeAll()
        lock.unlock()
        logger.error("cluster failed", metadata: ["reason": "\(error)"])
        for p in failed { p.fulfill(.failure(error)) }
    }

    // MARK: batches

    /// A fresh batch id.
    public func makeBatchID() -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        nextBatch += 1
        return nextBatch
    }

    /// Pushes a batch into the ring. With `awaitResult`, the returned handle receives the last
    /// stage's Results (or the failure); without, nothing waits for it (e.g. a free).
    @discardableResult
    public func submit(_ batch: Strata_V1_Batch, awaitResult: Bool = true) throws -> PendingBatch? {
        var b = batch
        b.planID = planID
        let p = awaitResult ? PendingBatch(id: b.batchID) : nil
        lock.lock()
        if let failure { lock.unlock(); throw failure }
        if let p { pending[b.batchID] = p }
        if onTimings != nil { submitted[b.batchID] = unixNanos() }
        lock.unlock()
        do {
            try outboxes[0].send(WireMessage(.batch(b)), deadline: .now + options.heartbeatTimeout)
        } catch {
            lock.lock(); pending[b.batchID] = nil; lock.unlock()
            throw error
        }
        return p
    }

    private func receiveLoop() {
        while !stopping.value {
            let m: WireMessage?
            do { m = try inbox?.receive(timeout: .milliseconds(200)) } catch TransportError.wire { continue } catch { break }
            guard let m else { continue }
            switch m.body {
            case let .results(r):
                let arrived = unixNanos()
                lock.lock()
                let p = pending.removeValue(forKey: r.batchID)
                let sent = submitted.removeValue(forKey: r.batchID)
                lock.unlock()
                p?.fulfill(.success(r))
                if let sent, let observe = onTimings { report(r.timings, sent: sent, arrived: arrived, observe) }
            case let .error(e):
                logger.warning("worker error", metadata: ["worker": "\(e.workerName)", "batch": "\(e.batchID)", "error": "\(e.message)"])
                guard e.batchID != 0 else { continue }
                lock.lock(); let p = pending.removeValue(forKey: e.batchID); lock.unlock()
                p?.fulfill(.failure(ClusterError.workerFailed(worker: e.workerName, reason: e.message)))
            case let .heartbeat(h):
                lock.lock(); lastSeen[h.workerName] = .now; openSequences[h.workerName] = Int(h.openSequences); lock.unlock()
            default: continue
            }
        }
    }

    private func report(_ t: [Strata_V1_StageTiming], sent: UInt64, arrived: UInt64,
                        _ observe: (_ stages: [(worker: String, seconds: Double)], _ hops: [(hop: String, seconds: Double)]) -> Void) {
        func gap(_ a: UInt64, _ b: UInt64) -> Double { b >= a ? Double(b - a) * 1e-9 : 0 }
        var hops: [(String, Double)] = []
        var previous = ("coordinator", sent)
        for s in t {
            hops.append(("\(previous.0)→\(s.worker)", gap(previous.1, s.receivedUnixNanos)))
            previous = (s.worker, s.sentUnixNanos)
        }
        hops.append(("\(previous.0)→coordinator", gap(previous.1, arrived)))
        observe(t.map { ($0.worker, $0.computeSeconds) }, hops)
    }

    private func heartbeatLoop() {
        var sequence: UInt64 = 0
        while !stopping.value {
            sequence += 1
            var h = Strata_V1_Heartbeat()
            h.sequence = sequence
            h.sentUnixNanos = UInt64(Date().timeIntervalSince1970 * 1e9)
            for o in outboxes { try? o.send(WireMessage(.heartbeat(h)), deadline: .now + .milliseconds(100)) }
            let now = ContinuousClock.now
            lock.lock()
            let lost = plan.stages.map(\.worker).first { lastSeen[$0].map { now - $0 > options.heartbeatTimeout } ?? true }
            var failed: [PendingBatch] = []
            var newlyLost: String?
            if let lost, failure == nil {
                failure = .workerLost(worker: lost)
                newlyLost = lost
                failed = Array(pending.values)
                pending.removeAll()
            }
            lock.unlock()
            if let newlyLost {
                logger.error("worker lost", metadata: ["worker": "\(newlyLost)", "failed_batches": "\(failed.count)"])
                for p in failed { p.fulfill(.failure(ClusterError.workerLost(worker: newlyLost))) }
            }
            Thread.sleep(forTimeInterval: seconds(options.heartbeatInterval))
        }
    }

    /// One worker's state as the coordinator last heard it.
    public struct WorkerHealth: Sendable {
        public var worker: String
        public var layers: Range<Int>
        public var secondsSinceSeen: Double
        /// Sequences holding a KV cache on it, per its last heartbeat.
        public var openSequences: Int
    }

    /// Every worker of the plan, and when each last answered a heartbeat.
    public func health() -> [WorkerHealth] {
        lock.lock(); defer { lock.unlock() }
        let now = ContinuousClock.now
        return plan.stages.map { s in
            WorkerHealth(worker: s.worker, layers: s.layerRange, secondsSinceSeen: lastSeen[s.worker].map { seconds(now - $0) } ?? .infinity,
                         openSequences: openSequences[s.worker] ?? 0)
        }
    }

    /// Why the cluster cannot run batches now (a lost worker, shutdown), or nil when it can.
    public var failureReason: String? { lock.lock(); defer { lock.unlock() }; return failure.map { "\($0)" } }

    /// Stops the coordinator; with `workers`, tells every worker to exit first. Waiting batches fail.
    public func shutdown(workers: Bool) {
        if workers {
            var s = Strata_V1_Shutdown()
            s.reason = "coordinator shutting down"
            for o in outboxes { try? o.send(WireMessage(.shutdown(s)), deadline: .now + .seconds(2)) }
        }
        stopping.value = true
        done.wait()
        lock.lock()
        let failed = Array(pending.values)
        pending.removeAll()
        failure = failure ?? .shutDown
        lock.unlock()
        for p in failed { p.fulfill(.failure(ClusterError.shutDown)) }
        for o in outboxes { o.close() }
        inbox?.close()
    }
}

/// A batch waiting for its Results.
public final class PendingBatch: @unchecked Sendable {
    public let id: UInt64
    private let condition = NSCondition()
    private var result: Result<Strata_V1_Results, Error>?

    init(id: UInt64) { self.id = id }

    func fulfill(_ r: Result<Strata_V1_Results, Error>) {
        condition.lock()
        if result == nil { result = r }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the Results (or the failure).
    public func wait() throws -> Strata_V1_Results {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return try result!.get()
    }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
