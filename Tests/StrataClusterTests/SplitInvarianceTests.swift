import Foundation
import StrataCluster
import StrataModel
import StrataTestSupport
import Testing

/// Coordinator + workers == `LocalModel`, token for token, over the in-process network and over
/// ZeroMQ on loopback (ARCHITECTURE "Tests that hold the design together").
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct SplitInvarianceTests {
    @Test(arguments: NetworkKind.allCases)
    func threeWorkersEqualLocalModel(_ kind: NetworkKind) throws {
        let local = try SmolLM2.local()
        let h = try ClusterHarness(kind)
        defer { h.shutdown() }
        #expect(h.coordinator.plan.stages.map(\.layerRange) == [0..<10, 10..<20, 20..<30])
        let cluster = ClusterModel(coordinator: h.coordinator)
        for (i, p) in SmolLM2.prompts.enumerated() {
            let ids = SmolLM2.tokenizer.encode(p)
            let expected = try SmolLM2.generate(local, ids, 24)
            let got = try SmolLM2.generate(cluster, ids, 24, session: UInt64(i + 1))
            #expect(got == expected, "prompt \(i) over \(kind)")
            #expect(cluster.tokens(of: UInt64(i + 1)) == nil, "closed session forgotten")
        }
    }

    /// An uneven plan (budgets 1:3:2) and f32 weights: still the same tokens as one process.
    @Test func unevenSplitF32() throws {
        let local = try SmolLM2.local(.f32)
        let h = try ClusterHarness(.inProcess, memory: [1 << 30, 3 << 30, 2 << 30], precision: .f32)
        defer { h.shutdown() }
        let ranges = h.coordinator.plan.stages.map(\.layerRange)
        #expect(ranges.count == 3 && ranges[1].count > ranges[2].count && ranges[2].count > ranges[0].count, "\(ranges)")
        let cluster = ClusterModel(coordinator: h.coordinator)
        let ids = SmolLM2.tokenizer.encode(SmolLM2.prompts[1])
        #expect(try SmolLM2.generate(cluster, ids, 16) == SmolLM2.generate(local, ids, 16))
    }

    /// Several sequences at once, from several threads: batches are in flight on every stage
    /// together, and each sequence still gets exactly its single-process tokens. Seeded sampling
    /// too: the last stage keeps each sequence's own random stream.
    @Test(arguments: NetworkKind.allCases)
    func concurrentSessionsKeepTheirOwnTokens(_ kind: NetworkKind) throws {
        let local = try SmolLM2.local()
        let h = try ClusterHarness(kind)
        defer { h.shutdown() }
        let cluster = ClusterModel(coordinator: h.coordinator)
        let jobs: [(prompt: String, sampling: SamplingParameters)] = SmolLM2.prompts.map { ($0, .greedy) } + [
            (SmolLM2.prompts[0], SamplingParameters(temperature: 0.9, topK: 40, topP: 0.95, seed: 7)),
            (SmolLM2.prompts[3], SamplingParameters(temperature: 0.7, repetitionPenalty: 1.3, presencePenalty: 0.5, seed: 11)),
        ]
        let expected = try jobs.map { try SmolLM2.generate(local, SmolLM2.tokenizer.encode($0.prompt), 16, sampling: $0.sampling) }
        let results = Locked([Int: [Int]]())
        let errors = Locked([String]())
        DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
            do {
                let got = try SmolLM2.generate(cluster, SmolLM2.tokenizer.encode(jobs[i].prompt), 16,
                                               sampling: jobs[i].sampling, session: UInt64(100 + i))
                results.mutate { $0[i] = got }
            } catch { errors.mutate { $0.append("\(i): \(error)") } }
        }
        #expect(errors.value.isEmpty, "\(errors.value)")
        for i in jobs.indices { #expect(results.value[i] == expected[i], "job \(i) over \(kind)") }
    }
}

final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var v: T
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}
