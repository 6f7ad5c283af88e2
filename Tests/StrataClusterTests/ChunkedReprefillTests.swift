import Foundation
import StrataCluster
import StrataModel
import StrataTestSupport
import Testing

/// Recovery under the step budget: when a plan is lost, `ClusterModel` rebuilds every cache in
/// batches of at most `maxStepTokens` rows (sampling nothing) before the step itself, and the
/// sequences continue with exactly the tokens of an unfaulted run — samplers replayed included.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct ChunkedReprefillTests {
    @Test(arguments: NetworkKind.allCases)
    func aLostPlanIsRebuiltInBudgetedBatchesWithTheSameTokens(_ kind: NetworkKind) throws {
        let h = try ClusterHarness(kind)
        defer { h.shutdown() }
        let model = ClusterModel(coordinator: h.coordinator, maxStepTokens: 16)
        let prompts = [SmolLM2.prompts[1], SmolLM2.prompts[2]].map { SmolLM2.tokenizer.encode(Array(repeating: $0, count: 3).joined(separator: " ")) }
        let samplings: [SamplingParameters] = [.greedy, SamplingParameters(temperature: 0.7, presencePenalty: 0.5, seed: 3)]
        let n = 12
        let expected = try zip(prompts, samplings).map { try SmolLM2.generate(try SmolLM2.local(), $0, n, sampling: $1) }

        // Prefill in chunks of 16 (the scheduler's way), both sessions in each step.
        for (i, p) in prompts.enumerated() { try model.openSession(UInt64(i + 1), sampling: samplings[i], prompt: p) }
        var fed = [0, 0], got: [[Int]] = [[], []]
        while fed.indices.contains(where: { fed[$0] < prompts[$0].count }) {
            var steps: [SequenceStep] = [], who: [Int] = []
            for i in fed.indices where fed[i] < prompts[i].count {
                let end = min(fed[i] + 8, prompts[i].count)
                steps.append(SequenceStep(session: UInt64(i + 1), tokens: Array(prompts[i][fed[i]..<end]), sample: end == prompts[i].count))
                who.append(i)
                fed[i] = end
            }
            var sampled = try model.step(steps).makeIterator()
            for (i, s) in zip(who, steps) where s.sample { got[i].append(sampled.next()!.token) }
        }
        // Decode; after a few tokens w1 is lost (the coordinator re-plans; every cache is gone).
        for k in 1..<n {
            if k == 5 { h.coordinator.workerExited("w1", status: 9) }
            let out = try model.step((0..<2).map { SequenceStep(session: UInt64($0 + 1), tokens: [got[$0].last!]) })
            for i in 0..<2 { got[i].append(out[i].token) }
        }
        #expect(got == expected)
        let cachedAtLoss = prompts.reduce(0) { $0 + $1.count } + 2 * 4
        #expect(model.reprefilledTokens >= cachedAtLoss, "re-prefilled \(model.reprefilledTokens) rows")
        #expect(model.reprefillBatches >= (model.reprefilledTokens + 15) / 16, "a re-prefill batch exceeded 16 rows")
    }
}
