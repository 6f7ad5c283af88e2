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
        lock.lock()
        state = .recovering("assigning a new plan")
        currentPlan = plan
        currentPlanID = planID
        let stale = Array(pending.values)
        pending.removeAll()
        lock.unlock()
        for p in stale { p.fulfill(.failure(ClusterError.planChanged)) }
        logger.notice("re-planning", metadata: ["stages": "\(describe(plan))"])
        do {
            try sendAssignments(plan, planID: planID)
            try awaitAssignReplies(plan, planID: planID)
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
        if ready {
            state = .ready
            generation += 1
            lock.broadcast()
        }
        lock.unlock()
        guard ready else { return }
        let took = seconds(t0.duration(to: .now))
        logger.notice("new plan in force", metadata: ["stages": "\(describe(plan))", "seconds": "\(String(format: "%.2f", took))"])
        onMembershipChange?(.replanned(stages: describe(plan), seconds: took))
    }

    /// Waits for every stage's AssignReply to `planID` (delivered by the receive thread).
    private func awaitAssignReplies(_ plan: Plan, planID: UInt64) throws {
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
                waiting.remove(r.workerName)
                continue
            }
            guard Date() < deadline else {
                throw ClusterError.workerTimeout(worker: waiting.sorted().joined(separator: ", "), waitingFor: "assign", seconds: seconds(options.loadTimeout))
            }
            _ = lock.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.25)))
        }
    }
}
