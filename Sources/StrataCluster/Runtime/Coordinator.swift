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
                heartbeatInterval: Duration = .seconds(1), heartbeatTimeout: Duration = .seconds(10),
                bf16Activations: Bool = false) {
        self.joinTimeout = joinTimeout; self.loadTimeout = loadTimeout
        self.heartbeatInterval = heartbeatInterval; self.heartbeatTimeout = heartbeatTimeout
        self.bf16Activations = bf16Activations
    }
}

/// The control plane and the ring's entry and exit: joins the workers of a plan, assigns their
/// slices, pushes batches to the first stage and matches the last stage's Results to the batches
/// waiting for them. Several batches may be in flight at once (one per calling thread).
///
/// Membership (Coordinator+Membership.swift): a worker that stops answering heartbeats, exits, or
/// turns up without its assignment is declared lost; the layers are re-planned over the survivors
/// (each loads its new layers from its own disk) and every batch in flight fails with
/// `planChanged`/`workerLost`, which `ClusterModel` answers by re-prefilling its sequences from
/// the tokens it kept. Lost workers are invited back with a Join; one that answers rejoins and
/// the plan grows back. While the model fits no surviving set, batches wait (`waitUntilReady`).
/// When every stage of the plan in force is alive (a worker added, removed or back), the ring is
/// drained and the KV caches of moved layers stream from old owner to new (KVMigration.swift)
/// instead: `generation` stays, so sessions continue without a re-prefill.
public final class Coordinator: @unchecked Sendable {
    /// The cluster as configured now (cluster.yaml edits apply through `apply(_:)`); under `lock`.
    var config: ClusterConfig
    public let model: ModelConfig
    public let options: CoordinatorOptions
    public let id: UInt64 = .random(in: 1...UInt64.max)
    let network: Network
    let logger: Logger
    var inbox: Inbox?
    /// One link per configured worker (stages and spares alike), by name.
    var links: [String: Outbox] = [:]
    /// Guards everything below; waiters for a ready plan or a control message wait on it.
    let lock = NSCondition()
    var currentPlan: Plan
    var currentPlanID: UInt64 = .random(in: 1...UInt64.max)
    /// Bumped each time a new plan is in place; sequences started under an older one re-prefill.
    var generation = 1
    /// Plans put in force since start (a re-shard that moves the caches keeps `generation`).
    var plansInForce = 1
    var state: MembershipState = .starting
    /// Workers declared lost and not yet back.
    var lost: [String: String] = [:]   // name → why
    var replanRequested = false
    /// Control replies (Hello, AssignReply, assignment errors) for the membership thread.
    var controlQueue: [WireMessage] = []
    var pending: [UInt64: PendingBatch] = [:]
    /// Every batch pushed and not yet answered, awaited or not (frees): a re-shard that moves KV
    /// waits until none is out, so every stage's caches agree.
    var inFlight: Set<UInt64> = []
    /// The plan whose KV caches the workers hold (nil while a new plan is being assigned, or after
    /// an assignment failed: caches are then in an unknown state and sequences re-prefill).
    var inForce: (plan: Plan, id: UInt64)?
    /// Links of workers removed from cluster.yaml, until the plan without them is in force (they
    /// still send their KV blocks to the new owners).
    var retiring: [String: Outbox] = [:]
    var retiringKeys: [String: [UInt8]] = [:]
    var lastSeen: [String: ContinuousClock.Instant] = [:]
    var openSequences: [String: Int] = [:]
    /// The kernel variant each worker reported in its Hello.
    var kernelVariants: [String: String] = [:]
    private var nextBatch: UInt64 = 1
    private var submitted: [UInt64: UInt64] = [:]   // batch → unix nanos when pushed
    /// Called with each finished batch's timings: per-stage compute seconds and per-hop transfer
    /// seconds (hop "coordinator→w0", "w0→w1", …, "w2→coordinator"; includes queueing at the
    /// receiver and, across boxes, clock skew).
    public var onTimings: (@Sendable (_ stages: [(worker: String, seconds: Double)], _ hops: [(hop: String, seconds: Double)]) -> Void)?
    /// Called after every membership change with a one-line summary (logs, metrics, tests).
    public var onMembershipChange: (@Sendable (_ event: MembershipEvent) -> Void)?
    var failure: ClusterError?
    let stopping = Atomic()
    private var threads: [Thread] = []
    private let done = DispatchGroup()

    public init(cluster: ClusterConfig, network: Network, options: CoordinatorOptions = CoordinatorOptions(),
                logger: Logger = Logger(label: "strata.coordinator")) throws {
        config = cluster
        self.network = network
        self.options = options
        self.logger = logger
        model = try ModelMetadata.load(path: cluster.modelPath)
        currentPlan = try Planner.plan(config: model, cluster: cluster)
    }

    /// The cluster configuration in force.
    public var cluster: ClusterConfig { lock.lock(); defer { lock.unlock() }; return config }
    /// The plan in force.
    public var plan: Plan { lock.lock(); defer { lock.unlock() }; return currentPlan }
    /// Id of the plan in force (every batch carries it; workers refuse other plans' batches).
    public var planID: UInt64 { lock.lock(); defer { lock.unlock() }; return currentPlanID }

    /// The endpoint the coordinator receives on (the real port when configured as `:*`).
    public var controlEndpoint: String? { inbox?.endpoint }

    /// Joins every worker of the plan, assigns the slices and waits until all are loaded.
    public func start() throws {
        let box = try network.bind(cluster.coordinator.control)
        inbox = box
        for w in config.workers { links[w.name] = try network.connect(w.endpoint) }
        logger.info("plan", metadata: ["stages": "\(describe(currentPlan))"])
        try joinAll()
        try assignAll()
        let now = ContinuousClock.now
        lock.lock()
        for w in config.workers { lastSeen[w.name] = now }
        // Workers the plan leaves out (not needed) are not lost; only silence or exit loses one.
        state = .ready
        inForce = (currentPlan, currentPlanID)
        lock.unlock()
        spawn("strata.coordinator.receive") { [self] in receiveLoop() }
        spawn("strata.coordinator.heartbeat") { [self] in heartbeatLoop() }
        spawn("strata.coordinator.membership") { [self] in membershipLoop() }
        logger.info("cluster ready", metadata: ["workers": "\(currentPlan.stages.count)"])
    }

    func describe(_ p: Plan) -> String {
        p.stages.map { "\($0.worker)[\($0.layerRange.lowerBound),\($0.layerRange.upperBound))" }.joined(separator: " ")
    }

    private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        done.enter()
        let t = Thread { [done] in body(); done.leave() }
        t.name = name
        t.start()
        threads.append(t)
    }

    private func joinAll() throws {
        let plan = currentPlan
        var waiting = Dictionary(uniqueKeysWithValues: plan.stages.enumerated().map { ($1.worker, $0) })
        let deadline = ContinuousClock.now + options.joinTimeout
        var nextJoin = ContinuousClock.now
        while !waiting.isEmpty {
            if ContinuousClock.now >= nextJoin {
                for name in waiting.keys { try sendJoin(to: name) }
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
            let link = try self.link(h.workerName)
            if accepted == nil {
                try link.send(reply, deadline: .now + .seconds(5))
                throw ClusterError.handshakeRejected(reason: "\(h.workerName): \(Handshake.reason(reply))")
            }
            let stage = plan.stages[i]
            if Int(h.capabilities.memoryBytes) < stage.totalBytes {
                let reason = "offers \(ByteSize.gib(Int(h.capabilities.memoryBytes))) GiB but its slice needs \(ByteSize.gib(stage.totalBytes)) GiB"
                try link.send(Handshake.reply(accepted: false, reason: reason), deadline: .now + .seconds(5))
                throw ClusterError.workerFailed(worker: h.workerName, reason: reason)
            }
            try link.send(reply, deadline: .now + .seconds(5))
            lock.lock(); kernelVariants[h.workerName] = WorkerCapabilities.kernelVariant(isa: h.capabilities.isa); lock.unlock()
            logger.info("worker joined", metadata: ["worker": "\(h.workerName)", "isa": "\(h.capabilities.isa)",
                                                     "threads": "\(h.capabilities.threads)"])
            waiting[h.workerName] = nil
        }
    }

    /// The link to a configured worker.
    func link(_ name: String) throws -> Outbox {
        lock.lock(); defer { lock.unlock() }
        guard let l = links[name] ?? retiring[name] else { throw ClusterError.protocolViolation("no link to worker \(name)") }
        return l
    }

    func sendJoin(to name: String) throws {
        var j = Strata_V1_Join()
        j.protocolVersion = WireProtocol.version
        j.replyEndpoint = inbox!.endpoint
        j.workerName = name
        j.coordinatorID = id
        if cluster.security != nil { j.peerKeys = peerKeys(cluster) }
        try link(name).send(WireMessage(.join(j)), deadline: .now + .seconds(5))
    }

    /// CURVE: every worker's public key (those being removed included), for workers to accept
    /// each other's KV blocks.
    func peerKeys(_ cluster: ClusterConfig) -> [Data] {
        lock.lock(); let leaving = Array(retiringKeys.values); lock.unlock()
        return (cluster.workers.compactMap(\.key) + leaving).map { Data($0) }
    }

    /// Sends every stage of `plan` its Assign. With `moves` (live re-sharding), each keeps its
    /// sequences' KV caches and waits for the blocks the moves bring it.
    func sendAssignments(_ plan: Plan, planID: UInt64, moves: [KVMove]? = nil, from old: UInt64 = 0) throws {
        let cluster = self.cluster
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
            if let security = cluster.security {
                let key = { (name: String) in cluster.workers.first { $0.name == name }?.key ?? [] }
                a.downstreamServerKey = Data(i + 1 < plan.stages.count ? key(plan.stages[i + 1].worker) : security.coordinatorKey)
                if i > 0 { a.upstreamClientKey = Data(key(plan.stages[i - 1].worker)) }
            }
            if let moves {
                a.keepKv = true
                a.kvFromPlan = old
                a.kvSources = Array(Set(moves.filter { $0.to == s.worker }.map(\.from))).sorted()
            }
            if cluster.security != nil { a.peerKeys = peerKeys(cluster) }
            try link(s.worker).send(WireMessage(.assign(a)), deadline: .now + .seconds(5))
        }
    }

    private func assignAll() throws {
        let plan = currentPlan, planID = currentPlanID
        try sendAssignments(plan, planID: planID)
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

    /// The next decodable control message before `deadline` (startup, before the receive thread
    /// runs); undecodable ones are skipped. Throws the reason given to `abort`.
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
        if error == .shutDown { logger.notice("shutting down", metadata: ["failed_batches": "\(failed.count)"]) } else {
            logger.error("cluster failed", metadata: ["reason": "\(error)"])
        }
        for p in failed { p.fulfill(.failure(error)) }
    }

    // MARK: batches

    /// A fresh batch id.
    public func makeBatchID() -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        nextBatch += 1
        return nextBatch
    }

    /// Waits until a plan is in force (not while recovering, or while the model fits no set of
    /// live workers) and returns its generation. Throws once the cluster has failed or shut down.
    public func waitUntilReady() throws -> Int {
        lock.lock(); defer { lock.unlock() }
        while true {
            if let failure { throw failure }
            if state == .ready { return generation }
            _ = lock.wait(until: Date(timeIntervalSinceNow: 0.5))
        }
    }

    /// Pushes a batch into the ring. With `awaitResult`, the returned handle receives the last
    /// stage's Results (or the failure); without, nothing waits for it (e.g. a free). With
    /// `generation`, the batch was built for that plan: if another is in force (or none is ready)
    /// it throws `planChanged` instead of sending.
    @discardableResult
    public func submit(_ batch: Strata_V1_Batch, awaitResult: Bool = true, generation expected: Int? = nil) throws -> PendingBatch? {
        var b = batch
        let p = awaitResult ? PendingBatch(id: b.batchID) : nil
        lock.lock()
        if let failure { lock.unlock(); throw failure }
        guard state == .ready, expected.map({ $0 == generation }) ?? true else { lock.unlock(); throw ClusterError.planChanged }
        b.planID = currentPlanID
        let first = links[currentPlan.stages[0].worker]!
        if let p { pending[b.batchID] = p }
        inFlight.insert(b.batchID)
        if onTimings != nil { submitted[b.batchID] = unixNanos() }
        lock.unlock()
        do {
            try first.send(WireMessage(.batch(b)), deadline: .now + options.heartbeatTimeout)
        } catch {
            lock.lock(); pending[b.batchID] = nil; inFlight.remove(b.batchID); lock.unlock()
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
                inFlight.remove(r.batchID)
                if inFlight.isEmpty { lock.broadcast() }
                let sent = submitted.removeValue(forKey: r.batchID)
                lock.unlock()
                p?.fulfill(.success(r))
                if let sent, let observe = onTimings { report(r.timings, sent: sent, arrived: arrived, observe) }
            case let .error(e):
                handleWorkerError(e)
            case let .heartbeat(h):
                lock.lock(); lastSeen[h.workerName] = .now; openSequences[h.workerName] = Int(h.openSequences); lock.unlock()
            case .hello, .assignReply:
                lock.lock(); controlQueue.append(m); lock.broadcast(); lock.unlock()
            default: continue
            }
        }
    }

    private func handleWorkerError(_ e: Strata_V1_Error) {
        lock.lock()
        let inPlan = currentPlan.stages.contains { $0.worker == e.workerName }
        let stale = e.code == .stalePlan   // a batch of an older plan, already retried
        lock.unlock()
        if !stale {
            logger.warning("worker error", metadata: ["worker": "\(e.workerName)", "batch": "\(e.batchID)", "error": "\(e.message)"])
        }
        if e.code == .unassigned, inPlan {
            // It runs no slice of this plan: it restarted (faster than the heartbeat timeout).
            memberLost(e.workerName, reason: "it answered without its assignment (restarted?): \(e.message)")
            return
        }
        if e.batchID == 0 {
            lock.lock(); controlQueue.append(WireMessage(.error(e))); lock.broadcast(); lock.unlock()
            return
        }
        lock.lock()
        let p = pending.removeValue(forKey: e.batchID)
        inFlight.remove(e.batchID)
        if inFlight.isEmpty { lock.broadcast() }
        lock.unlock()
        p?.fulfill(.failure(stale ? ClusterError.planChanged : ClusterError.workerFailed(worker: e.workerName, reason: e.message)))
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

    /// One worker's state as the coordinator last heard it.
    public struct WorkerHealth: Sendable {
        public var worker: String
        /// Its layers in the plan in force (empty when lost or left out).
        public var layers: Range<Int>
        public var secondsSinceSeen: Double
        /// Sequences holding a KV cache on it, per its last heartbeat.
        public var openSequences: Int
        /// Why it is lost, when it is.
        public var lostReason: String?
        /// The kernel variant it runs (from its Hello), once it joined.
        public var kernelVariant: String?
    }

    /// Every configured worker, its layers in the plan in force, and when each last answered.
    public func health() -> [WorkerHealth] {
        lock.lock(); defer { lock.unlock() }
        let now = ContinuousClock.now
        return config.workers.map { w in
            let layers = currentPlan.stages.first { $0.worker == w.name }?.layerRange ?? 0..<0
            return WorkerHealth(worker: w.name, layers: layers, secondsSinceSeen: lastSeen[w.name].map { seconds(now - $0) } ?? .infinity,
                                openSequences: openSequences[w.name] ?? 0, lostReason: lost[w.name],
                                kernelVariant: kernelVariants[w.name])
        }
    }

    /// Why the cluster cannot run batches now (recovering, waiting for capacity, failed, shut
    /// down), or nil when it can.
    public var failureReason: String? {
        lock.lock(); defer { lock.unlock() }
        if let failure { return "\(failure)" }
        switch state {
        case .ready: return nil
        case .starting: return "starting"
        case let .recovering(why): return "recovering: \(why)"
        case let .waitingForCapacity(why): return "waiting for capacity: \(why)"
        }
    }

    /// Stops the coordinator; with `workers`, tells every worker to exit first. Waiting batches fail.
    public func shutdown(workers: Bool) {
        if workers {
            var s = Strata_V1_Shutdown()
            s.reason = "coordinator shutting down"
            lock.lock(); let live = links.filter { lost[$0.key] == nil }; lock.unlock()
            for o in live.values { try? o.send(WireMessage(.shutdown(s)), deadline: .now + .seconds(2)) }
        }
        stopping.value = true
        lock.lock(); lock.broadcast(); lock.unlock()
        done.wait()
        lock.lock()
        let failed = Array(pending.values)
        pending.removeAll()
        failure = failure ?? .shutDown
        lock.broadcast()
        lock.unlock()
        for p in failed { p.fulfill(.failure(ClusterError.shutDown)) }
        for o in links.values { o.close() }
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
