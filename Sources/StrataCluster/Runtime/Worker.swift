import Foundation
import Logging
import StrataKernels
import StrataModel
import StrataTransport
import StrataWire

/// How a worker process runs.
public struct WorkerOptions: Sendable {
    /// Where it listens (`tcp://HOST:PORT`): the coordinator and the upstream stage push here.
    public var listen: String
    /// Its name; nil takes the name the coordinator's Join gives.
    public var name: String?
    /// Compute threads (an Assign may lower it).
    public var threads: Int
    /// Memory it offers for weights + KV cache + workspace.
    public var memoryBytes: Int
    /// Exit when the parent process goes away (`strata up` children), within 200 ms, mid-step too.
    public var exitWithParent: Bool
    /// The parent to watch (its pid as the parent gave it, so a parent that died before this
    /// process started is noticed too); nil: the parent at start.
    public var parentPID: Int32?

    public init(listen: String, name: String? = nil, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                memoryBytes: Int = Int(ProcessInfo.processInfo.physicalMemory), exitWithParent: Bool = false,
                parentPID: Int32? = nil) {
        self.listen = listen; self.name = name; self.threads = threads
        self.memoryBytes = memoryBytes; self.exitWithParent = exitWithParent; self.parentPID = parentPID
    }
}

/// A pipeline stage process: waits for a coordinator's Join, loads the slice an Assign names from
/// its own disk, then runs each Batch that reaches its listen endpoint and pushes the result
/// downstream (activations to the next stage, sampled tokens from the last stage to the
/// coordinator). One compute thread: take the next message → compute → send; the pipeline's
/// parallelism comes from the stages working on different batches at once. A second thread
/// (`WorkerLiveness`) owns the inbox and answers heartbeats while the compute thread is busy.
///
/// Bad input never stops it: an undecodable message is logged and dropped, a batch it cannot run
/// is answered with an `Error` naming the batch, and nothing is forwarded for it.
public final class Worker: @unchecked Sendable {
    public let options: WorkerOptions
    private let network: Network
    private var logger: Logger
    private var inbox: Inbox?
    private var coordinator: Outbox?
    private var coordinatorID: UInt64 = 0
    private var downstream: Outbox?
    private var slice: ModelSlice?
    private var loaded: Strata_V1_Assign?
    private var planID: UInt64 = 0
    private var bf16 = false
    private var pool: ThreadPool
    private var name: String
    private let stopped = Atomic()
    /// The assignment loading on a background thread (heartbeats are answered meanwhile), and
    /// the newest one that arrived during it.
    private var loading: LoadJob?
    private var queuedAssign: Strata_V1_Assign?
    /// KV blocks arriving for a new plan (live re-sharding), by plan id; at most a few.
    private var receivers: [UInt64: KVReceiver] = [:]
    /// Connections to other workers' inboxes for sending KV blocks, by endpoint.
    private var peers: [String: Outbox] = [:]
    /// How long a loaded slice waits for the KV blocks its Assign expects.
    public var kvWait: Duration = .seconds(30)
    /// Batches run since start (for logs and tests).
    public private(set) var batchesRun = 0

    public init(network: Network, options: WorkerOptions, logger: Logger = Logger(label: "strata.worker")) {
        self.network = network
        self.options = options
        self.logger = logger
        self.name = options.name ?? options.listen
        pool = ThreadPool(threads: max(1, options.threads))
        self.logger[metadataKey: "worker"] = "\(name)"
    }

    /// Binds the listen endpoint; returns the bound endpoint (the real port for `:*`).
    @discardableResult
    public func bind() throws -> String {
        if let inbox { return inbox.endpoint }
        let box = try network.bind(options.listen)
        inbox = box
        logger.info("listening", metadata: ["endpoint": "\(box.endpoint)"])
        return box.endpoint
    }

    /// Serves until a Shutdown arrives or `stop()` is called.
    public func run() throws {
        try bind()
        var parent: Int32? = nil
        if options.exitWithParent {
            parent = options.parentPID ?? getppid()
            guard getppid() == parent else {
                logger.notice("parent process already exited; stopping", metadata: ["parent": "\(parent!)"])
                close()
                return
            }
        }
        let control = WorkerLiveness(inbox: inbox!, network: network, name: name, fixedName: options.name != nil,
                                     parentPID: parent, logger: logger)
        control.start()
        defer { control.stop(); close() }
        while !stopped.value && !control.isClosed {
            if let job = loading, let result = job.result, readyToInstall(job) { finishLoad(job, result) }
            switch control.next(timeout: .milliseconds(loading == nil ? 500 : 20)) {
            case nil: continue
            case let .undecodable(e)?: report(.malformed, "undecodable message dropped: \(e)")
            case let .message(m)?: if try !handle(m) { return }
            }
            control.publish(openSequences: slice?.openSequences ?? 0)
        }
    }

    /// Asks `run` to return (within half a second).
    public func stop() { stopped.value = true }

    private func close() {
        inbox?.close(); coordinator?.close(); downstream?.close()
        peers.values.forEach { $0.close() }
        inbox = nil; coordinator = nil; downstream = nil; peers = [:]
    }

    /// Handles one message; false when the worker should exit.
    private func handle(_ message: WireMessage) throws -> Bool {
        switch message.body {
        case let .join(j): join(j)
        case let .assign(a): assign(a)
        case let .batch(b): run(b, tensors: message.tensors)
        case let .migrateKv(m): migrate(m)
        case let .kvBlocks(b): receive(b, tensors: message.tensors)
        case .heartbeat: break   // answered by the liveness thread
        case .drain: break
        case let .shutdown(s):
            logger.info("shutdown", metadata: ["reason": "\(s.reason)"])
            return false
        case .helloReply(let r):
            if !r.accepted { logger.error("coordinator rejected this worker", metadata: ["reason": "\(r.reason)"]) }
        default:
            report(.unknownMessage, "unexpected \(message.kind) message at a worker")
        }
        return true
    }

    private func join(_ j: Strata_V1_Join) {
        if coordinator?.endpoint != j.replyEndpoint {
            coordinator?.close()
            coordinator = try? network.connect(j.replyEndpoint)
        }
        guard j.protocolVersion == WireProtocol.version else {
            report(.versionMismatch, "Join speaks protocol \(j.protocolVersion), this worker \(WireProtocol.version)")
            return
        }
        for key in j.peerKeys where !key.isEmpty { network.trust(clientKey: Array(key)) }
        if j.coordinatorID != coordinatorID {
            // A new coordinator: whatever ran before is gone.
            slice?.releaseAll()
            planID = 0
            coordinatorID = j.coordinatorID
        }
        if options.name == nil, !j.workerName.isEmpty {
            name = j.workerName
            logger[metadataKey: "worker"] = "\(name)"
        }
        var hello = Handshake.hello(workerName: name,
                                    capabilities: WorkerCapabilities.detect(memoryBytes: options.memoryBytes, threads: options.threads))
        if case var .hello(h) = hello.body { h.coordinatorID = j.coordinatorID; hello.body = .hello(h) }
        send(hello, to: coordinator, "hello")
    }

    /// Starts loading an assignment on a background thread; the main loop keeps answering
    /// heartbeats (refusing batches) until `finishLoad` installs it and replies. An Assign that
    /// arrives meanwhile waits for the running load (the newest one wins).
    private func assign(_ a: Strata_V1_Assign) {
        if loading != nil { queuedAssign = a; return }
        do {
            try validate(a)
        } catch {
            replyAssign(a, .failure(error), seconds: 0)
            return
        }
        if a.threads > 0, a.threads != UInt32(pool.threads) { pool = ThreadPool(threads: Int(a.threads)) }
        // CURVE: the upstream stage may connect; the downstream inbox is the holder of this key.
        if !a.upstreamClientKey.isEmpty { network.trust(clientKey: Array(a.upstreamClientKey)) }
        if !a.downstreamServerKey.isEmpty { network.setServerKey(Array(a.downstreamServerKey), for: a.downstreamEndpoint) }
        for key in a.peerKeys where !key.isEmpty { network.trust(clientKey: Array(key)) }
        // Live re-sharding: the open sequences' caches for the layers this worker keeps.
        // Only caches of the plan in force count: a worker that was cut off holds stale ones.
        let kept = a.keepKv && planID == a.kvFromPlan ? slice?.sequenceStates ?? [] : []
        let previous = reusable(for: a)
        slice = nil   // its weights live on in `previous` where the new slice takes them over
        planID = 0
        let job = LoadJob(assign: a)
        job.kept = kept
        loading = job
        let pool = self.pool
        let t = Thread {
            let clock = ContinuousClock(), t0 = clock.now
            let result = Result { () -> ModelSlice in
                let source = try ModelSource(path: a.modelPath)
                guard Int(a.layerEnd) <= source.config.layerCount else {
                    throw ClusterError.protocolViolation("layers [\(a.layerStart), \(a.layerEnd)) but the model has \(source.config.layerCount)")
                }
                return try ModelSlice(source: source, layers: Int(a.layerStart)..<Int(a.layerEnd), first: a.firstStage,
                                      last: a.lastStage, precision: a.precision == .f32 ? .f32 : .fp8, pool: pool, reusing: previous)
            }
            job.finish(result, seconds: seconds(t0.duration(to: clock.now)))
        }
        t.name = "strata.worker.load"
        t.start()
    }

    private func validate(_ a: Strata_V1_Assign) throws {
        guard a.layerEnd > a.layerStart else {
            throw ClusterError.protocolViolation("empty layer range [\(a.layerStart), \(a.layerEnd))")
        }
        guard !a.downstreamEndpoint.isEmpty else { throw ClusterError.protocolViolation("assignment has no downstream endpoint") }
    }

    /// The current slice when its weights can serve `a` (same model file and precision).
    private func reusable(for a: Strata_V1_Assign) -> ModelSlice? {
        guard let old = loaded, let slice, old.modelPath == a.modelPath, old.precision == a.precision else { return nil }
        slice.releaseAll()
        return slice
    }

    /// Whether a loaded job may be installed: it keeps no KV, or every source's blocks arrived,
        /// or it waited `kvWait`, or a newer assignment is queued.
    private func readyToInstall(_ job: LoadJob) -> Bool {
        guard job.assign.keepKv, queuedAssign == nil else { return true }
        if receivers[job.assign.planID]?.isDone(sources: job.assign.kvSources) ?? job.assign.kvSources.isEmpty { return true }
        let now = ContinuousClock.now
        if job.loadedAt == nil { job.loadedAt = now }
        return now - job.loadedAt! > kvWait
    }

    /// Installs a finished load (main loop), replies, and starts a queued assignment.
    private func finishLoad(_ job: LoadJob, _ result: Result<ModelSlice, Error>) {
        loading = nil
        let a = job.assign
        var outcome: Result<Void, Error> = result.map { _ in () }
        var kv = KVOutcome()
        if case let .success(s) = result {
            do {
                if a.keepKv { kv = installKV(s, job: job) }
                s.maxSequences = Int(a.maxBatch) > 0 ? Int(a.maxBatch) * 4 : 0
                if downstream?.endpoint != a.downstreamEndpoint {
                    downstream?.close()
                    downstream = nil
                    downstream = try network.connect(a.downstreamEndpoint)
                }
                slice = s
                loaded = a
                planID = a.planID
                bf16 = a.bf16Activations
            } catch { outcome = .failure(error) }
        }
        receivers = receivers.filter { $0.key != a.planID && $0.value.planID != a.planID }
        replyAssign(a, outcome, seconds: job.seconds, kv: kv)
        if let next = queuedAssign {
            queuedAssign = nil
            assign(next)
        }
    }

    private func replyAssign(_ a: Strata_V1_Assign, _ outcome: Result<Void, Error>, seconds: Double, kv: KVOutcome = KVOutcome()) {
        var reply = Strata_V1_AssignReply()
        reply.planID = a.planID
        reply.workerName = name
        reply.kvComplete = kv.complete
        reply.kvSequences = UInt32(kv.sequences)
        reply.kvBytesReceived = UInt64(kv.bytes)
        switch outcome {
        case .success:
            reply.ok = true
            reply.weightBytes = UInt64(slice?.weightBytes ?? 0)
            reply.loadSeconds = seconds
            logger.info("assigned", metadata: ["layers": "[\(a.layerStart), \(a.layerEnd))", "first": "\(a.firstStage)",
                                               "last": "\(a.lastStage)", "plan": "\(a.planID)",
                                               "weights_mib": "\(reply.weightBytes >> 20)", "seconds": "\(seconds)"])
        case let .failure(error):
            reply.ok = false
            var e = Strata_V1_Error()
            e.code = error is ClusterError ? .badAssignment : .modelLoad
            e.message = "\(error)"
            e.workerName = name
            reply.error = e
            logger.error("assignment failed", metadata: ["error": "\(error)"])
        }
        send(WireMessage(.assignReply(reply)), to: coordinator, "assign_reply")
    }

    /// Runs one batch and forwards its result; a batch it cannot run is answered with an Error.
    private func run(_ b: Strata_V1_Batch, tensors: [WireTensor]) {
        if let job = loading {
            report(.stalePlan, "batch \(b.batchID) is for plan \(b.planID), this worker is loading plan \(job.assign.planID)", batch: b.batchID)
            return
        }
        guard let slice, let downstream else {
            report(.unassigned, "batch \(b.batchID) before any assignment", batch: b.batchID)
            return
        }
        guard b.planID == planID else {
            report(.stalePlan, "batch \(b.batchID) is for plan \(b.planID), this worker runs plan \(planID)", batch: b.batchID)
            return
        }
        var timing = Strata_V1_StageTiming()
        timing.worker = name
        timing.receivedUnixNanos = unixNanos()
        let clock = ContinuousClock(), t0 = clock.now
        do {
            let entries = try PipelineWire.entries(b, first: slice.isFirst)
            let rows = ModelSlice.rows(entries), h = slice.config.hiddenSize
            var input: [Float] = []
            if !slice.isFirst && rows > 0 {
                guard tensors.count == 1, tensors[0].shape == [rows, h] else {
                    throw ClusterError.protocolViolation("batch \(b.batchID): expected one activation tensor [\(rows), \(h)], got "
                        + tensors.map { "\($0.shape)" }.joined(separator: ", "))
                }
                input = tensors[0].floats()
            }
            let out = try input.withUnsafeBufferPointer { try slice.step(entries, hidden: slice.isFirst ? nil : $0) }
            batchesRun += 1
            timing.computeSeconds = seconds(t0.duration(to: clock.now))
            if slice.isLast {
                var results = Strata_V1_Results()
                results.batchID = b.batchID
                timing.sentUnixNanos = unixNanos()
                results.timings = b.timings + [timing]
                let wants = Dictionary(b.sequences.map { ($0.sequenceID, $0.wantsLogprobs) }, uniquingKeysWith: { a, _ in a })
                results.sequences = out.sampled.map { PipelineWire.result($0.sequence, $0.token, wantsLogprobs: wants[$0.sequence] ?? false) }
                try downstream.send(WireMessage(.results(results)), deadline: .now + .seconds(30))
            } else {
                var next = b
                for i in next.sequences.indices { next.sequences[i].tokenIds = [] }
                timing.sentUnixNanos = unixNanos()
                next.timings.append(timing)
                // Activations (rows, hidden); a batch of operations only (e.g. frees) carries none.
                let tensors = rows == 0 ? [] : [WireTensor(encoding: UnsafeBufferPointer(out.hidden), shape: [rows, h], as: bf16 ? .bf16 : .f32)]
                try downstream.send(WireMessage(.batch(next), tensors: tensors), deadline: .now + .seconds(30))
            }
        } catch let e as SliceError {
            if case .unknownSequence = e { report(.unknownSequence, "batch \(b.batchID): \(e)", batch: b.batchID) } else {
                report(.malformed, "batch \(b.batchID): \(e)", batch: b.batchID)
            }
        } catch {
            report(.malformed, "batch \(b.batchID): \(error)", batch: b.batchID)
        }
    }

    /// Logs a problem and tells the coordinator, if one has joined.
    private func report(_ code: Strata_V1_ErrorCode, _ message: String, batch: UInt64 = 0) {
        logger.warning("\(message)")
        send(PipelineWire.error(code, message, batch: batch, worker: name), to: coordinator, "error")
    }

    private func send(_ m: WireMessage, to box: Outbox?, _ what: String) {
        guard let box else { return }
        do { try box.send(m, deadline: .now + .seconds(10)) } catch {
            logger.warning("could not send \(what)", metadata: ["to": "\(box.endpoint)", "error": "\(error)"])
        }
    }
}

/// Wall-clock time in nanoseconds since 1970 (comparable across processes and, roughly, boxes).
func unixNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// An assignment loading on a background thread.
final class LoadJob: @unchecked Sendable {
    let assign: Strata_V1_Assign
    /// Open sequences of the slice it replaces (live re-sharding), and when the load finished.
    var kept: [SequenceState] = []
    var loadedAt: ContinuousClock.Instant?
    private let lock = NSLock()
    private var outcome: Result<ModelSlice, Error>?
    private(set) var seconds: Double = 0
    init(assign: Strata_V1_Assign) { self.assign = assign }
    func finish(_ r: Result<ModelSlice, Error>, seconds: Double) {
        lock.lock(); outcome = r; self.seconds = seconds; lock.unlock()
    }
    var result: Result<ModelSlice, Error>? { lock.lock(); defer { lock.unlock() }; return outcome }
}

/// A flag shared between threads.
public final class Atomic: @unchecked Sendable {
    private let lock = NSLock()
    private var v = false
    public init() {}
    public var value: Bool {
        get { lock.lock(); defer { lock.unlock() }; return v }
        set { lock.lock(); v = newValue; lock.unlock() }
    }
}

// MARK: live re-sharding

/// What a worker reports about the KV caches it took into a new plan.
struct KVOutcome {
    var complete = false
    var sequences = 0
    var bytes = 0
}

extension Worker {
    /// MigrateKV: sends the asked layers of every open sequence to their next owners. The
    /// coordinator sends it only while no batch is in flight, before the plan's Assigns.
    fileprivate func migrate(_ m: Strata_V1_MigrateKV) {
        guard let slice, loading == nil else {
            report(.badAssignment, "MigrateKV for plan \(m.planID) but this worker holds no loaded slice")
            return
        }
        let clock = ContinuousClock(), t0 = clock.now
        for route in m.routes {
            do {
                if !route.serverKey.isEmpty { network.setServerKey(Array(route.serverKey), for: route.endpoint) }
                let peer = try self.peer(route.endpoint)
                let (n, bytes) = try KVSender.send(slice, route: route, planID: m.planID, sender: name) {
                    try peer.send($0, deadline: .now + .seconds(60))
                }
                logger.info("KV sent", metadata: ["to": "\(route.workerName)", "layers": "[\(route.layerStart), \(route.layerEnd))",
                                               "sequences": "\(n)", "mib": "\(bytes >> 20)", "samplers": "\(route.samplers)",
                                               "seconds": "\(seconds(t0.duration(to: clock.now)))"])
            } catch {
                report(.internal, "could not send KV of layers [\(route.layerStart), \(route.layerEnd)) to \(route.workerName): \(error)")
            }
        }
    }

    /// A connection to another worker's inbox (kept: a closed socket would drop queued blocks).
    private func peer(_ endpoint: String) throws -> Outbox {
        if let p = peers[endpoint] { return p }
        let p = try network.connect(endpoint)
        peers[endpoint] = p
        return p
    }

    /// KV blocks from another worker for a plan this worker is (or will be) assigned.
    fileprivate func receive(_ b: Strata_V1_KVBlocks, tensors: [WireTensor]) {
        if receivers[b.planID] == nil {
            // Blocks of at most two plans are kept (the newest win).
            if receivers.count >= 2, let oldest = receivers.keys.min(by: { receivers[$0]!.created < receivers[$1]!.created }) {
                receivers[oldest] = nil
            }
            receivers[b.planID] = KVReceiver(planID: b.planID)
        }
        receivers[b.planID]!.add(b, tensors: tensors)
    }

    /// Builds the new slice's sequences from the kept caches and the blocks received; installs
    /// them when every sequence is whole, otherwise none (the coordinator re-prefills).
    fileprivate func installKV(_ s: ModelSlice, job: LoadJob) -> KVOutcome {
        let a = job.assign
        let receiver = receivers[a.planID] ?? KVReceiver(planID: a.planID)
        var (states, incomplete) = receiver.assemble(for: s, kept: job.kept, sources: a.kvSources)
        job.kept = []
        if incomplete.isEmpty {
            do { try s.install(states) } catch { incomplete.append("\(error)") }
        }
        if !incomplete.isEmpty {
            logger.warning("KV not taken over; the coordinator re-prefills", metadata: ["plan": "\(a.planID)",
                        "why": "\(incomplete.prefix(3).joined(separator: "; "))", "problems": "\(incomplete.count)"])
            states = []
            try? s.install([])
        }
        return KVOutcome(complete: incomplete.isEmpty, sequences: states.count, bytes: receiver.bytes)
    }
}
