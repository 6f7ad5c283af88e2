import Foundation
import Logging
import StrataWire

/// Where the coordinator's membership stands.
public enum MembershipState: Sendable, Equatable {
    case starting
    /// A plan is in force; batches run.
    case ready
    /// A new plan is being assigned (a worker was lost or came back); batches wait.
    case recovering(String)
    /// The model fits no set of live workers; batches wait until one comes back.
    case waitingForCapacity(String)
}

/// One membership change, for logs, metrics and tests.
public enum MembershipEvent: Sendable, Equatable {
    case lost(worker: String, reason: String)
    case rejoined(worker: String)
    /// A new plan is in force: its stages as "w0[0,10) w2[10,30)", and seconds from the change
    /// that caused it to the plan being ready.
    case replanned(stages: String, seconds: Double)
    case waitingForCapacity(reason: String)
    /// Live re-sharding moved the KV caches of `sequences` open sequences to their layers' new
    /// owners (`bytes` over the network) instead of re-prefilling them.
    case migrated(sequences: Int, bytes: Int)
}

extension Coordinator {
    /// A worker process this process started exited (`strata up`): it is lost now, without
    /// waiting for the heartbeat timeout.
    public func workerExited(_ name: String, status: Int32) {
        memberLost(name, reason: "its process exited with status \(status)")
    }

    /// Declares a worker lost: batches in flight fail (they are retried on the next plan) and the
    /// membership thread re-plans. Idempotent.
    func memberLost(_ name: String, reason: String) {
        lock.lock()
        guard failure == nil, lost[name] == nil, config.workers.contains(where: { $0.name == name }) else { lock.unlock(); return }
        lost[name] = reason
        lastSeen[name] = nil
        var failed: [PendingBatch] = []
        if currentPlan.stages.contains(where: { $0.worker == name }) {
            // Left-out workers (spares) and waiting for capacity change nothing.
            if case .waitingForCapacity = state {} else { state = .recovering("\(name) lost: \(reason)") }
            failed = Array(pending.values)
            pending.removeAll()
            replanRequested = true
        }
        lock.broadcast()
        lock.unlock()
        logger.error("worker lost", metadata: ["worker": "\(name)", "reason": "\(reason)", "failed_batches": "\(failed.count)"])
        for p in failed { p.fulfill(.failure(ClusterError.workerLost(worker: name))) }
        onMembershipChange?(.lost(worker: name, reason: reason))
    }

    // MARK: heartbeats

    /// Beats every live worker; declares silent ones lost; invites lost ones back with a Join.
    func heartbeatLoop() {
        var sequence: UInt64 = 0
        let interval = seconds(options.heartbeatInterval), timeout = options.heartbeatTimeout
        while !stopping.value {
            sequence += 1
            var h = Strata_V1_Heartbeat()
            h.sequence = sequence
            h.sentUnixNanos = unixNanos()
            lock.lock()
            let lostNow = Set(lost.keys)
            let now = ContinuousClock.now
            let names = config.workers.map(\.name)
            let silent = names.filter { !lostNow.contains($0) && lastSeen[$0].map { now - $0 > timeout } ?? false }
            lock.unlock()
            for name in names {
                if lostNow.contains(name) { try? sendJoin(to: name) } else {
                    try? link(name).send(WireMessage(.heartbeat(h)), deadline: .now + .milliseconds(100))
                }
            }
            for name in silent { memberLost(name, reason: "no heartbeat for \(Int(seconds(timeout))) s") }
            Thread.sleep(forTimeInterval: interval)
        }
    }

    // MARK: re-planning

    /// Re-plans whenever membership changed; handles Hellos of returning workers meanwhile.
    func membershipLoop() {
        while !stopping.value {
            lock.lock()
            while !replanRequested && controlQueue.isEmpty && !stopping.value {
                _ = lock.wait(until: Date(timeIntervalSinceNow: 0.5))
            }
            let messages = controlQueue
            controlQueue.removeAll()
            lock.unlock()
            for m in messages { handleIdleControl(m) }
            lock.lock()
            let go = replanRequested && !stopping.value
            replanRequested = false
            lock.unlock()
            if go { replan() }
        }
    }

    /// A Hello outside a re-plan: a lost worker answering its Join rejoins.
    private func handleIdleControl(_ m: WireMessage) {
        guard case let .hello(h) = m.body, h.coordinatorID == id else { return }
        let (reply, accepted) = Handshake.answer(.success(m))
        try? link(h.workerName).send(reply, deadline: .now + .seconds(5))
        guard accepted != nil else {
            logger.warning("returning worker refused", metadata: ["worker": "\(h.workerName)", "reason": "\(Handshake.reason(reply))"])
            return
        }
        lock.lock()
        let wasLost = lost.removeValue(forKey: h.workerName) != nil
        lastSeen[h.workerName] = .now
        kernelVariants[h.workerName] = WorkerCapabilities.kernelVariant(isa: h.capabilities.isa)
        if wasLost { replanRequested = true }
        lock.unlock()
        if wasLost {
            logger.notice("worker rejoined", metadata: ["worker": "\(h.workerName)"])
            onMembershipChange?(.rejoined(worker: h.workerName))
        }
    }

    /// Plans over the live workers and assigns the plan; batches wait meanwhile. When the model
    /// fits no live set it waits for a worker to come back; when a worker fails to load, it is
    /// lost and the next pass plans without it.
    private func replan() {
        let t0 = ContinuousClock.now
        lock.lock()
        var live = config
        live.workers = config.workers.filter { lost[$0.name] == nil }
        lock.unlock()
        let plan: Plan
        do { plan = try Planner.plan(config: model, cluster: live) } catch {
            let why = live.workers.isEmpty ? "no live workers" : "\(error)"
            lock.lock(); state = .waitingForCapacity(why); lock.broadcast(); lock.unlock()
            logger.error("the model does not fit the live workers; requests wait until one returns",
                         metadata: ["live": "\(live.workers.map(\.name))", "reason": "\(why)"])
            onMembershipChange?(.waitingForCapacity(reason: why))
            return
        }
        let planID = UInt64.random(in: 1...UInt64.max)
        let migration = quiesceForMigration(to: plan), moves = migration?.moves
        lock.lock()
        state = .recovering("assigning a new plan")
        currentPlan = plan
        currentPlanID = planID
        inForce = nil
        let stale = Array(pending.values)
        pending.removeAll()
        inFlight.removeAll()
        lock.unlock()
        for p in stale { p.fulfill(.failure(ClusterError.planChanged)) }
        logger.notice("re-planning", metadata: ["stages": "\(describe(plan))", "kv": moves == nil ? "re-prefill" : "move \(moves!.count) ranges"])
        var replies: [Strata_V1_AssignReply] = []
        do {
            if let moves { try sendMigrations(moves, plan: plan, planID: planID) }
            try sendAssignments(plan, planID: planID, moves: moves, from: migration?.from ?? 0)
            replies = try awaitAssignReplies(plan, planID: planID)
        } catch let ClusterError.workerFailed(worker, reason) {
            memberLost(worker, reason: "could not take its new layers: \(reason)")
            return
        } catch let ClusterError.workerTimeout(worker, _, _) {
            for name in worker.components(separatedBy: ", ") { memberLost(name, reason: "did not load its new layers in time") }
            return
        } catch {
            logger.error("re-plan failed", metadata: ["error": "\(error)"])
            lock.lock(); replanRequested = true; lock.unlock()
            return
        }
        lock.lock()
        // A change during the assignment (another loss, a return) means another pass first.
        let ready = !replanRequested && currentPlanID == planID
        // Every stage took its sequences' caches whole: they continue; otherwise they re-prefill.
        let migrated = moves != nil && replies.allSatisfy(\.kvComplete)
        if ready {
            state = .ready
            if !migrated { generation += 1 }
            plansInForce += 1
            inForce = (plan, planID)
            lock.broadcast()
        }
        lock.unlock()
        guard ready else { return }
        let took = seconds(t0.duration(to: .now))
        let sequences = replies.map { Int($0.kvSequences) }.max() ?? 0, bytes = replies.reduce(0) { $0 + Int($1.kvBytesReceived) }
        logger.notice("new plan in force", metadata: ["stages": "\(describe(plan))", "seconds": "\(String(format: "%.2f", took))",
                                                      "kv": moves == nil ? "re-prefill" : migrated ? "moved \(sequences) sequences, \(bytes >> 10) KiB" : "move incomplete; re-prefill"])
        onMembershipChange?(.replanned(stages: describe(plan), seconds: took))
        if migrated { onMembershipChange?(.migrated(sequences: sequences, bytes: bytes)) }
    }

    /// Whether the caches can move to `plan` instead of being re-prefilled, and if so the moves,
    /// once no batch is in flight. It needs every stage of the plan in force alive (a lost
    /// worker's layers are gone) and a quiet ring: new batches wait meanwhile, and if the ring
    /// does not empty within the heartbeat timeout the caches are re-prefilled instead.
    private func quiesceForMigration(to plan: Plan) -> (moves: [KVMove], from: UInt64)? {
        lock.lock(); defer { lock.unlock() }
        guard let old = inForce, old.plan.stages.allSatisfy({ lost[$0.worker] == nil && (links[$0.worker] ?? retiring[$0.worker]) != nil }) else {
            return nil
        }
        state = .recovering("re-sharding: waiting for batches in flight")
        let deadline = Date().addingTimeInterval(seconds(options.heartbeatTimeout))
        while !inFlight.isEmpty && Date() < deadline && !replanRequested {
            _ = lock.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.05)))
        }
        guard inFlight.isEmpty, !replanRequested, old.plan.stages.allSatisfy({ lost[$0.worker] == nil }) else { return nil }
        return (KVMove.between(old.plan, plan), old.id)
    }

    /// Tells each old owner where its moved layers go (before any Assign: the same link keeps
    /// the order, so a worker sends from its old slice before it loads the new one).
    private func sendMigrations(_ moves: [KVMove], plan: Plan, planID: UInt64) throws {
        let cluster = self.cluster
        for from in Set(moves.map(\.from)).sorted() {
            var m = Strata_V1_MigrateKV()
            m.planID = planID
            m.routes = moves.filter { $0.from == from }.map { move in
                var r = Strata_V1_KVRoute()
                r.workerName = move.to
                r.endpoint = plan.stages.first { $0.worker == move.to }!.endpoint
                if cluster.security != nil, let key = cluster.workers.first(where: { $0.name == move.to })?.key { r.serverKey = Data(key) }
                r.layerStart = UInt32(move.layers.lowerBound)
                r.layerEnd = UInt32(move.layers.upperBound)
                r.samplers = move.samplers
                return r
            }
            try link(from).send(WireMessage(.migrateKv(m)), deadline: .now + .seconds(5))
        }
    }

    /// Waits for every stage's AssignReply to `planID` (delivered by the receive thread).
    @discardableResult
    private func awaitAssignReplies(_ plan: Plan, planID: UInt64) throws -> [Strata_V1_AssignReply] {
        var replies: [Strata_V1_AssignReply] = []
        var waiting = Set(plan.stages.map(\.worker))
        let deadline = Date().addingTimeInterval(seconds(options.loadTimeout))
        lock.lock(); defer { lock.unlock() }
        while !waiting.isEmpty {
            if stopping.value { throw ClusterError.shutDown }
            if let gone = waiting.first(where: { lost[$0] != nil }) {
                throw ClusterError.workerFailed(worker: gone, reason: lost[gone] ?? "lost")
            }
            if let i = controlQueue.firstIndex(where: { if case .assignReply = $0.body { return true }; return false }) {
                let m = controlQueue.remove(at: i)
                guard case let .assignReply(r) = m.body, r.planID == planID else { continue }
                guard r.ok else { throw ClusterError.workerFailed(worker: r.workerName, reason: r.error.message) }
                if waiting.remove(r.workerName) != nil { replies.append(r) }
                continue
            }
            guard Date() < deadline else {
                throw ClusterError.workerTimeout(worker: waiting.sorted().joined(separator: ", "), waitingFor: "assign", seconds: seconds(options.loadTimeout))
            }
            _ = lock.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.25)))
        }
        return replies
    }
}
