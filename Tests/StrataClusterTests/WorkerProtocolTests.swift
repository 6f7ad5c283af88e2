import Foundation
import StrataCluster
import StrataModel
import StrataTestSupport
import StrataTransport
import StrataWire
import Testing

/// A live worker, driven message by message by the test acting as its coordinator: the
/// handshake, an assignment, and bad input of every kind — each answered with a typed Error that
/// names the batch, after which the worker still serves correctly.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct WorkerProtocolTests {
    final class Rig {
        let network: Network
        let worker: Worker
        let inbox: Inbox
        let toWorker: Outbox
        let done = DispatchSemaphore(value: 0)

        init(_ kind: NetworkKind, kvWait: Duration = .seconds(30)) throws {
            network = try kind.make()
            worker = Worker(network: network, options: WorkerOptions(listen: kind.anyPort, threads: 1, memoryBytes: 1 << 30),
                            logger: quietLogger("strata.worker"))
            worker.kvWait = kvWait
            let endpoint = try worker.bind()
            inbox = try network.bind(kind.anyPort)
            toWorker = try network.connect(endpoint)
            Thread { [worker, done] in try? worker.run(); done.signal() }.start()
        }

        func send(_ body: Strata_V1_Envelope.OneOf_Body, tensors: [WireTensor] = []) throws {
            try toWorker.send(WireMessage(body, tensors: tensors), deadline: .now + .seconds(5))
        }

        func next() throws -> WireMessage {
            guard let m = try inbox.receive(timeout: .seconds(60)) else { throw ClusterError.protocolViolation("no reply in 60 s") }
            return m
        }

        /// Joins as coordinator 42, naming the worker "solo"; returns its Hello.
        func join() throws -> Strata_V1_Hello {
            var join = Strata_V1_Join()
            join.protocolVersion = WireProtocol.version
            join.replyEndpoint = inbox.endpoint
            join.workerName = "solo"
            join.coordinatorID = 42
            try send(.join(join))
            guard case let .hello(hello) = try next().body else { throw ClusterError.protocolViolation("expected hello") }
            return hello
        }

        func expectError(_ code: Strata_V1_ErrorCode, batch: UInt64, containing text: String) throws {
            let m = try next()
            guard case let .error(e) = m.body else { Issue.record("expected error, got \(m.kind)"); return }
            #expect(e.code == code, "\(e.message)")
            #expect(e.batchID == batch)
            #expect(e.workerName == "solo")
            #expect(e.message.contains(text), "\(e.message)")
        }
    }

    static func entry(_ id: UInt64, start: Bool, position: Int, tokens: [Int]) -> Strata_V1_SequenceEntry {
        var e = Strata_V1_SequenceEntry()
        e.sequenceID = id
        e.firstPosition = UInt32(position)
        e.tokenCount = UInt32(tokens.count)
        e.kvOps = (start ? [Strata_V1_KVOp.with { $0.start = .init() }] : []) + [Strata_V1_KVOp.with { $0.append = .init() }]
        e.tokenIds = tokens.map { UInt32($0) }
        e.sample = true
        return e
    }

    static func batch(_ id: UInt64, plan: UInt64, _ entries: [Strata_V1_SequenceEntry]) -> Strata_V1_Batch {
        var b = Strata_V1_Batch()
        b.batchID = id
        b.planID = plan
        b.sequences = entries
        return b
    }

    @Test(arguments: NetworkKind.allCases)
    func badInputGetsTypedErrorsAndTheWorkerKeepsServing(_ kind: NetworkKind) throws {
        let rig = try Rig(kind)
        defer { try? rig.send(.shutdown(Strata_V1_Shutdown())); rig.done.wait() }

        // Handshake.
        let hello = try rig.join()
        #expect(hello.workerName == "solo" && hello.coordinatorID == 42 && hello.protocolVersion == WireProtocol.version)
        #expect(hello.capabilities.memoryBytes == 1 << 30 && hello.capabilities.threads == 1)

        // A batch before any assignment.
        try rig.send(.batch(Self.batch(1, plan: 9, [Self.entry(1, start: true, position: 0, tokens: [1])])))
        try rig.expectError(.unassigned, batch: 1, containing: "before any assignment")

        // An assignment that cannot load, then one that can.
        var a = Strata_V1_Assign()
        a.modelPath = "/nonexistent/model.gguf"
        a.layerStart = 0; a.layerEnd = 30; a.firstStage = true; a.lastStage = true
        a.downstreamEndpoint = rig.inbox.endpoint
        a.planID = 9
        try rig.send(.assign(a))
        guard case let .assignReply(bad) = try rig.next().body else { Issue.record("expected assign_reply"); return }
        #expect(!bad.ok && bad.error.code == .modelLoad && bad.error.message.contains("/nonexistent/model.gguf"))
        a.modelPath = TestAssets.smolLM2
        try rig.send(.assign(a))
        guard case let .assignReply(ok) = try rig.next().body else { Issue.record("expected assign_reply"); return }
        #expect(ok.ok && ok.planID == 9 && ok.weightBytes > 100 << 20, "\(ok.error.message)")

        // Undecodable frames.
        try rig.toWorker.send(frames: [Frame(copying: [0xff, 0x00, 0x13, 0x37])], deadline: .now + .seconds(5))
        try rig.expectError(.malformed, batch: 0, containing: "undecodable")
        // Another plan's batch.
        try rig.send(.batch(Self.batch(2, plan: 8, [Self.entry(1, start: true, position: 0, tokens: [1])])))
        try rig.expectError(.stalePlan, batch: 2, containing: "plan 8")
        // A sequence that was never started.
        try rig.send(.batch(Self.batch(3, plan: 9, [Self.entry(5, start: false, position: 0, tokens: [1])])))
        try rig.expectError(.unknownSequence, batch: 3, containing: "sequence 5")
        // A token outside the vocabulary, and a position that does not follow the cache.
        try rig.send(.batch(Self.batch(4, plan: 9, [Self.entry(6, start: true, position: 0, tokens: [1, 999_999])])))
        try rig.expectError(.malformed, batch: 4, containing: "999999")
        try rig.send(.batch(Self.batch(5, plan: 9, [Self.entry(7, start: true, position: 3, tokens: [1])])))
        try rig.expectError(.malformed, batch: 5, containing: "position 3")
        // A resumed sampler that claims more sampled tokens than its history holds.
        var resumed = Self.entry(9, start: true, position: 0, tokens: [1])
        resumed.history = [1, 2]
        resumed.resumedSamples = 3
        try rig.send(.batch(Self.batch(7, plan: 9, [resumed])))
        try rig.expectError(.malformed, batch: 7, containing: "resumed_samples 3 > history 2")
        // Token ids that disagree with the row count never leave the sender: the codec refuses them.
        var e = Self.entry(8, start: true, position: 0, tokens: [1, 2])
        e.tokenCount = 3
        #expect(throws: TransportError.self) { try rig.send(.batch(Self.batch(6, plan: 9, [e]))) }
        // A message only coordinators receive.
        try rig.send(.results(Strata_V1_Results()))
        try rig.expectError(.unknownMessage, batch: 0, containing: "unexpected results")

        // None of that left state behind: a real prompt gives LocalModel's first token, and the
        // refused sequences (6, 7, 8) were never started, so starting them now works.
        let ids = SmolLM2.tokenizer.encode(SmolLM2.prompts[0])
        let expected = try SmolLM2.generate(try SmolLM2.local(), ids, 2)
        try rig.send(.batch(Self.batch(7, plan: 9, [Self.entry(6, start: true, position: 0, tokens: ids)])))
        guard case let .results(r) = try rig.next().body else { Issue.record("expected results"); return }
        #expect(r.batchID == 7 && r.sequences.map(\.tokenID) == [UInt32(expected[0])])
        var second = Self.entry(6, start: false, position: ids.count, tokens: [expected[0]])
        second.wantsLogprobs = true
        try rig.send(.batch(Self.batch(8, plan: 9, [second])))
        guard case let .results(r2) = try rig.next().body else { Issue.record("expected results"); return }
        #expect(r2.sequences.map(\.tokenID) == [UInt32(expected[1])])
        #expect(r2.sequences[0].logprob < 0)

        // Heartbeats are answered with the worker's state.
        var hb = Strata_V1_Heartbeat()
        hb.sequence = 77
        try rig.send(.heartbeat(hb))
        guard case let .heartbeat(back) = try rig.next().body else { Issue.record("expected heartbeat"); return }
        #expect(back.sequence == 77 && back.workerName == "solo" && back.openSequences == 1)
    }

    /// Live re-sharding at one worker: a new plan that keeps KV keeps the caches of its layers (the
    /// sequence continues with LocalModel's tokens); one whose sources never send gives up after
    /// `kvWait`, reports the caches incomplete and drops them (the coordinator then re-prefills);
    /// caches of a plan other than the one the Assign names are not kept;
    /// KV blocks whose tensors disagree with their layers never leave the sender.
    @Test(arguments: NetworkKind.allCases)
    func aNewPlanKeepsOrDropsTheKVCaches(_ kind: NetworkKind) throws {
        let rig = try Rig(kind, kvWait: .milliseconds(300))
        defer { try? rig.send(.shutdown(Strata_V1_Shutdown())); rig.done.wait() }
        _ = try rig.join()
        var a = Strata_V1_Assign()
        a.modelPath = TestAssets.smolLM2
        a.layerStart = 0; a.layerEnd = 30; a.firstStage = true; a.lastStage = true
        a.downstreamEndpoint = rig.inbox.endpoint
        a.planID = 9
        func assign(_ plan: UInt64, keep: Bool, from: UInt64 = 0, sources: [String]) throws -> Strata_V1_AssignReply {
            a.planID = plan
            a.keepKv = keep
            a.kvFromPlan = from
            a.kvSources = sources
            try rig.send(.assign(a))
            guard case let .assignReply(r) = try rig.next().body else { throw ClusterError.protocolViolation("expected assign_reply") }
            #expect(r.ok && r.planID == plan, "\(r.error.message)")
            return r
        }
        _ = try assign(9, keep: false, sources: [])
        let ids = SmolLM2.tokenizer.encode(SmolLM2.prompts[1])
        let expected = try SmolLM2.generate(try SmolLM2.local(), ids, 3)
        try rig.send(.batch(Self.batch(1, plan: 9, [Self.entry(1, start: true, position: 0, tokens: ids)])))
        guard case let .results(r1) = try rig.next().body else { Issue.record("expected results"); return }
        #expect(r1.sequences.map(\.tokenID) == [UInt32(expected[0])])

        // Same layers, keep KV, nothing to receive: the cache is kept whole.
        let kept = try assign(10, keep: true, from: 9, sources: [])
        #expect(kept.kvComplete && kept.kvSequences == 1 && kept.kvBytesReceived == 0)
        try rig.send(.batch(Self.batch(2, plan: 10, [Self.entry(1, start: false, position: ids.count, tokens: [expected[0]])])))
        guard case let .results(r2) = try rig.next().body else { Issue.record("expected results"); return }
        #expect(r2.sequences.map(\.tokenID) == [UInt32(expected[1])])

        // A source that never sends: after kvWait the caches are dropped and the reply says so.
        let t0 = ContinuousClock.now
        let dropped = try assign(11, keep: true, from: 10, sources: ["ghost"])
        #expect(!dropped.kvComplete && dropped.kvSequences == 0)
        #expect(ContinuousClock.now - t0 >= .milliseconds(300))
        try rig.send(.batch(Self.batch(3, plan: 11, [Self.entry(1, start: false, position: ids.count + 1, tokens: [expected[1]])])))
        try rig.expectError(.unknownSequence, batch: 3, containing: "sequence 1")

        // Caches of another plan than the one in force (a worker that was cut off) are not kept.
        try rig.send(.batch(Self.batch(4, plan: 11, [Self.entry(2, start: true, position: 0, tokens: ids)])))
        guard case .results = try rig.next().body else { Issue.record("expected results"); return }
        let stale = try assign(12, keep: true, from: 4, sources: [])
        #expect(stale.kvComplete && stale.kvSequences == 0)
        try rig.send(.batch(Self.batch(5, plan: 12, [Self.entry(2, start: false, position: ids.count, tokens: [expected[0]])])))
        try rig.expectError(.unknownSequence, batch: 5, containing: "sequence 2")

        // Two layers' blocks with one tensor: the codec refuses them before they are sent.
        var blocks = Strata_V1_KVBlocks()
        blocks.planID = 12; blocks.sender = "solo"; blocks.sequenceID = 1
        blocks.layerStart = 0; blocks.layerEnd = 2; blocks.length = 4
        #expect(throws: TransportError.self) {
            try rig.send(.kvBlocks(blocks), tensors: [WireTensor(encoding: [Float](repeating: 0, count: 4 * 192), shape: [4, 192])])
        }
    }

    /// Liveness apart from compute: while the worker runs a long prefill, heartbeats are answered
    /// at once (with their sequence numbers), before the batch's Results; the Results are right.
    @Test(arguments: NetworkKind.allCases)
    func heartbeatsAreAnsweredWhileABatchComputes(_ kind: NetworkKind) throws {
        let rig = try Rig(kind)
        defer { try? rig.send(.shutdown(Strata_V1_Shutdown())); rig.done.wait() }
        _ = try rig.join()
        var a = Strata_V1_Assign()
        a.modelPath = TestAssets.smolLM2
        a.layerStart = 0; a.layerEnd = 30; a.firstStage = true; a.lastStage = true
        a.downstreamEndpoint = rig.inbox.endpoint
        a.planID = 9
        try rig.send(.assign(a))
        guard case let .assignReply(ok) = try rig.next().body, ok.ok else { Issue.record("assignment failed"); return }
        // A 1,000-token prompt in one batch on one thread: seconds of compute.
        let prompt = (0..<1000).map { 10 + ($0 * 7919) % 49000 }
        try rig.send(.batch(Self.batch(1, plan: 9, [Self.entry(1, start: true, position: 0, tokens: prompt)])))
        Thread.sleep(forTimeInterval: 0.2)
        var beatsSent: [UInt64: ContinuousClock.Instant] = [:]
        for n in 1...3 as ClosedRange<UInt64> {
            var h = Strata_V1_Heartbeat()
            h.sequence = n
            beatsSent[n] = .now
            try rig.send(.heartbeat(h))
            Thread.sleep(forTimeInterval: 0.1)
        }
        var answered: [UInt64] = []
        var latest: Duration = .zero
        while true {
            let m = try rig.next()
            if case let .heartbeat(h) = m.body {
                answered.append(h.sequence)
                #expect(h.workerName == "solo")
                latest = max(latest, ContinuousClock.now - beatsSent[h.sequence]!)
                continue
            }
            guard case let .results(r) = m.body else { Issue.record("expected results, got \(m.kind)"); return }
            #expect(r.batchID == 1 && r.sequences.count == 1)
            break
        }
        #expect(answered == [1, 2, 3], "heartbeats not answered before the batch finished: \(answered)")
        #expect(latest < .seconds(1), "a heartbeat waited \(latest)")
    }
}
