import Foundation
import StrataCluster
import StrataModel
import Testing

/// Live re-sharding moves the KV caches of moved layers (and the samplers, when the last stage
/// changes) from their old owner to the new one: sessions running through the change continue
/// without re-prefilling and produce exactly their single-process tokens.
@Suite struct ReshardTests {
    @Test(arguments: NetworkKind.allCases)
    func removingThenAddingAWorkerMovesTheCaches(_ kind: NetworkKind) throws {
        let local = try SmolLM2.local()
        let h = try ClusterHarness(kind, memory: [1 << 30, 1 << 30, 1 << 30, 1 << 30])
        defer { h.shutdown() }
        // A fifth worker, started now, joins later through cluster.yaml.
        let extra = Worker(network: h.network, options: WorkerOptions(listen: kind.anyPort, threads: 1, memoryBytes: 1 << 34),
                           logger: quietLogger("strata.worker"))
        let extraEndpoint = try extra.bind()
        let extraDone = DispatchGroup()
        extraDone.enter()
        Thread { try? extra.run(); extraDone.leave() }.start()
        defer { extra.stop(); extraDone.wait() }

        let events = Locked([MembershipEvent]())
        h.coordinator.onMembershipChange = { e in events.mutate { $0.append(e) } }
        let cluster = ClusterModel(coordinator: h.coordinator)
        let jobs: [(prompt: String, sampling: SamplingParameters)] = [
            (SmolLM2.prompts[0], .greedy), (SmolLM2.prompts[1], .greedy), (SmolLM2.prompts[2], .greedy),
            (SmolLM2.prompts[3], SamplingParameters(temperature: 0.8, topK: 40, presencePenalty: 0.4, seed: 5)),
        ]
        let n = 40
        let expected = try jobs.map { try SmolLM2.generate(local, SmolLM2.tokenizer.encode($0.prompt), n, sampling: $0.sampling) }
        let produced = Locked(0), phase = Locked(0)
        let results = Locked([Int: [Int]]())
        let errors = Locked([String]())
        let original = h.coordinator.cluster
        @Sendable func waitFor(tokens: Int) { while produced.value < tokens && errors.value.isEmpty { Thread.sleep(forTimeInterval: 0.005) } }
        // One thread each (concurrentPerform runs only as many at once as there are cores, and the
        // sessions wait at token 25 for the re-shard thread).
        @Sendable func body(_ i: Int) {
            do {
                if i == jobs.count {
                    // Remove w1 (a middle stage) while the sessions decode (batches in flight drain
                    // first), then add a new last stage while every session waits at token 25.
                    waitFor(tokens: jobs.count * 6)
                    var smaller = original
                    smaller.workers.removeAll { $0.name == "w1" }
                    try h.coordinator.apply(smaller)
                    waitFor(tokens: jobs.count * 25)
                    var bigger = smaller
                    bigger.workers.append(ClusterConfig.Worker(name: "w4", endpoint: extraEndpoint, memoryBytes: 1 << 30, threads: 1))
                    try h.coordinator.apply(bigger)   // returns before w4 joins
                    let deadline = Date().addingTimeInterval(60)
                    while !h.coordinator.plan.stages.contains(where: { $0.worker == "w4" }) || h.coordinator.failureReason != nil {
                        guard Date() < deadline else { throw ClusterError.shutDown }
                        Thread.sleep(forTimeInterval: 0.02)
                    }
                    phase.mutate { $0 = 1 }
                    return
                }
                var got: [Int] = []
                _ = try Generator(model: cluster, stopTokens: []).generate(
                    prompt: SmolLM2.tokenizer.encode(jobs[i].prompt), maxTokens: n, sampling: jobs[i].sampling,
                    session: UInt64(200 + i)) { t in
                    got.append(t)
                    produced.mutate { $0 += 1 }
                    if got.count == 25 { while phase.value == 0 && errors.value.isEmpty { Thread.sleep(forTimeInterval: 0.005) } }
                }
                results.mutate { $0[i] = got }
            } catch { errors.mutate { $0.append("\(i): \(error)") } }
        }
        let all = DispatchGroup()
        for i in 0...jobs.count { all.enter(); Thread { body(i); all.leave() }.start() }
        all.wait()
        #expect(errors.value.isEmpty, "\(errors.value)")
        for i in jobs.indices { #expect(results.value[i] == expected[i], "job \(i) over \(kind)") }
        // Both re-shards moved all four sessions' caches (the second also their samplers).
        let moved = events.value.compactMap { if case let .migrated(s, b) = $0 { return (s, b) }; return nil }
        #expect(moved.count == 2, "events: \(events.value)")
        #expect(moved.allSatisfy { $0.0 == jobs.count && $0.1 > 0 }, "\(moved)")
        #expect(cluster.retriedSteps == 0, "no step re-ran: the caches moved")
        #expect(h.coordinator.plan.stages.map(\.worker) == ["w0", "w2", "w3", "w4"])
        // Settings a running cluster cannot take are refused by name, and nothing changes.
        var restart = h.coordinator.cluster
        restart.context = 1024
        restart.workers.removeAll { $0.name == "w4" }
        #expect(throws: ClusterError.restartRequired(keys: ["context"])) { try h.coordinator.apply(restart) }
        #expect(h.coordinator.plan.stages.map(\.worker) == ["w0", "w2", "w3", "w4"] && h.coordinator.cluster.context == 2048)
    }
}

/// Which layers move where, from the plans alone.
@Suite struct KVMoveTests {
    @Test func movesFollowTheLayersThatChangeHands() {
        let three = [("w0", 0..<10), ("w1", 10..<20), ("w2", 20..<30)]
        // w1 removed: its layers split between its neighbours; nothing else moves.
        let two = [("w0", 0..<15), ("w2", 15..<30)]
        #expect(KVMove.between(three, two) == [
            KVMove(from: "w1", to: "w0", layers: 10..<15, samplers: false),
            KVMove(from: "w1", to: "w2", layers: 15..<20, samplers: false),
        ])
        // A new last stage: the samplers ride with the last layers.
        let four = [("w0", 0..<8), ("w2", 8..<15), ("w1", 15..<23), ("w3", 23..<30)]
        #expect(KVMove.between(two, four) == [
            KVMove(from: "w0", to: "w2", layers: 8..<15, samplers: false),
            KVMove(from: "w2", to: "w1", layers: 15..<23, samplers: false),
            KVMove(from: "w2", to: "w3", layers: 23..<30, samplers: true),
        ])
        #expect(KVMove.between(three, three).isEmpty)
    }
}
