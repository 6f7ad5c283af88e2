import Foundation
import Logging
import StrataTransport
import StrataWire

/// What an edited cluster.yaml changes about the workers.
public struct ConfigChange: Sendable, Equatable {
    public var added: [String] = []
    public var removed: [String] = []
    /// Same name, other endpoint, memory, speed or threads.
    public var changed: [String] = []
    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    public init(from old: ClusterConfig, to new: ClusterConfig) {
        let before = Dictionary(old.workers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(new.workers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        added = new.workers.map(\.name).filter { before[$0] == nil }
        removed = old.workers.map(\.name).filter { after[$0] == nil }
        changed = new.workers.compactMap { w in
            guard let o = before[w.name] else { return nil }
            return (o.endpoint, o.memoryBytes, o.speed, o.threads) == (w.endpoint, w.memoryBytes, w.speed, w.threads) && o.key == w.key ? nil : w.name
        }
    }

    /// Settings of `new` a running cluster cannot take.
    public static func restartKeys(from old: ClusterConfig, to new: ClusterConfig) -> [String] {
        var keys: [String] = []
        if old.modelPath != new.modelPath { keys.append("model") }
        if old.precision != new.precision { keys.append("precision") }
        if old.context != new.context { keys.append("context") }
        if old.maxBatch != new.maxBatch { keys.append("max_batch") }
        if old.maxStepTokens != new.maxStepTokens { keys.append("max_step_tokens") }
        if old.drainTimeout != new.drainTimeout { keys.append("drain_timeout") }
        if old.coordinator != new.coordinator { keys.append("coordinator") }
        if old.heartbeat != new.heartbeat { keys.append("heartbeat") }
        if old.security != new.security { keys.append("security") }
        return keys
    }
}

extension Coordinator {
    /// Applies an edited cluster.yaml without dropping requests. Added workers are invited with a
    /// Join and enter the plan when they answer. Removed or changed workers: new batches wait,
    /// the batches in flight finish (≤ `drainTimeout`; any still out are retried), the layers are
    /// re-planned over the new set, and only once that plan is in force are removed workers told to
    /// shut down. API keys apply at once. Model, precision, context, max_batch, heartbeat and
    /// coordinator endpoints need a restart: `restartRequired`, nothing changes.
    @discardableResult
    public func apply(_ new: ClusterConfig, drainTimeout: Double = 30) throws -> ConfigChange {
        let old = cluster
        let restart = ConfigChange.restartKeys(from: old, to: new)
        guard restart.isEmpty else { throw ClusterError.restartRequired(keys: restart) }
        let change = ConfigChange(from: old, to: new)
        var fresh: [String: Outbox] = [:]
        for w in new.workers where change.added.contains(w.name) || change.changed.contains(w.name) {
            if let key = w.key {
                network.trust(clientKey: key)
                network.setServerKey(key, for: w.endpoint)
            }
            fresh[w.name] = try network.connect(w.endpoint)
        }
        lock.lock()
        config = new
        guard !change.isEmpty else { lock.unlock(); return change }
        let planned = Set(currentPlan.stages.map(\.worker))
        let replanNow = !(change.removed + change.changed).filter(planned.contains).isEmpty
        if replanNow, state == .ready {
            // Drain: no new batches; the ones in flight finish on the old plan.
            state = .recovering("applying cluster.yaml")
            let deadline = Date().addingTimeInterval(drainTimeout)
            while !pending.isEmpty && Date() < deadline { _ = lock.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.05))) }
        }
        var retired: [String: Outbox] = [:]
        for name in change.removed {
            // Until the plan without it is in force it may still send its KV blocks.
            retired[name] = links.removeValue(forKey: name)
            retiring[name] = retired[name]
            retiringKeys[name] = old.workers.first { $0.name == name }?.key
            lost[name] = nil; lastSeen[name] = nil; openSequences[name] = nil
        }
        for name in change.changed { if let l = links[name] { retired[name + "#old"] = l } }
        for (name, l) in fresh {
            links[name] = l
            lost[name] = change.added.contains(name) ? "added in cluster.yaml; waiting for it to join" : "changed in cluster.yaml; rejoining"
            lastSeen[name] = nil
        }
        if replanNow { replanRequested = true }
        let plansBefore = plansInForce
        lock.broadcast()
        lock.unlock()
        logger.notice("cluster.yaml applied", metadata: ["added": "\(change.added)", "removed": "\(change.removed)",
                                                         "changed": "\(change.changed)"])
        for name in change.added + change.changed { try? sendJoin(to: name) }
        guard !retired.isEmpty else { return change }
        // Removed workers leave once a plan without them is in force.
        lock.lock()
        let deadline = Date().addingTimeInterval(seconds(options.loadTimeout))
        while plansInForce == plansBefore && replanNow && failure == nil && Date() < deadline && !stopping.value {
            _ = lock.wait(until: Date(timeIntervalSinceNow: 0.25))
        }
        for name in change.removed { retiring[name] = nil; retiringKeys[name] = nil }
        lock.unlock()
        var s = Strata_V1_Shutdown()
        s.reason = "removed from cluster.yaml"
        for (name, l) in retired {
            if !name.hasSuffix("#old") { try? l.send(WireMessage(.shutdown(s)), deadline: .now + .seconds(2)) }
            l.close()
        }
        return change
    }
}
