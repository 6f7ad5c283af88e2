import Foundation
import StrataCluster
import StrataModel
import StrataServer
import StrataTestSupport
import StrataTokenizer
import Testing

/// Chunked prefill: a step carries at most `maxStepTokens` rows, long prompts enter over several
/// steps beside running streams, and every request still gets exactly its solo tokens.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct ChunkedPrefillTests {
    /// A forward pass that records the rows of every step it runs.
    final class Recording: ForwardPass, @unchecked Sendable {
        let base: ForwardPass
        private let lock = NSLock()
        private(set) var rows: [Int] = []
        var config: ModelConfig { base.config }
        init(_ base: ForwardPass) { self.base = base }
        func openSession(_ id: UInt64, sampling: SamplingParameters, prompt: [Int]) throws {
            try base.openSession(id, sampling: sampling, prompt: prompt)
        }
        func step(_ batch: [SequenceStep]) throws -> [SampledToken] {
            lock.lock(); rows.append(batch.reduce(0) { $0 + $1.tokens.count }); lock.unlock()
            return try base.step(batch)
        }
        func closeSession(_ id: UInt64) { base.closeSession(id) }
    }

    /// Prompts of 60–260 tokens cut from the GPL text, greedy, seeded and with penalties.
    static func requests(_ count: Int) -> [TokenRequest] {
        let text = (try? String(contentsOfFile: "/usr/share/common-licenses/GPL-3", encoding: .utf8))
            ?? String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 200)
        let ids = SchedulerTests.tokenizer.encode(text)
        return (0..<count).map { i in
            let sampling = i % 3 == 0 ? SamplingParameters.greedy
                : i % 3 == 1 ? SamplingParameters(temperature: 0.8, topK: 40, topP: 0.95, seed: UInt64(7 + i))
                : SamplingParameters(temperature: 0.6, presencePenalty: 0.4, frequencyPenalty: 0.3, seed: 99)
            let length = 60 + 50 * (i % 5), start = 97 * i
            return TokenRequest(prompt: Array(ids[start..<(start + length)]), maxTokens: 6 + i % 4, sampling: sampling,
                                topLogprobs: i % 2, stopTokens: [2])
        }
    }

    @Test func chunkedPrefillGivesTheUnchunkedTokensInOneProcess() async throws {
        let local = try SchedulerTests.local()
        let requests = Self.requests(8)
        let expected = try requests.map { try SchedulerTests.solo(local, $0) }   // each prompt in one step
        let model = Recording(local)
        let engine = Scheduler(model: model, lanes: 1, maxBatch: 4, maxQueue: 8, maxStepTokens: 40)
        defer { engine.shutdown() }
        let got = try await SchedulerTests.runAll(engine, requests)
        for i in requests.indices { #expect(got[i].0 == expected[i], "request \(i)") }
        #expect(model.rows.max() ?? 0 <= 40, "a step exceeded the budget: \(model.rows.max() ?? 0) rows")
        // Every prompt is longer than the budget, so each took several steps.
        #expect(model.rows.count >= requests.reduce(0) { $0 + $1.prompt.count } / 40)
    }

    @Test func chunkedPrefillOverThePipelineEqualsSoloRuns() async throws {
        let local = try SchedulerTests.local()
        let requests = Self.requests(6)
        let expected = try requests.map { try SchedulerTests.solo(local, $0) }
        let (cluster, stop) = try SchedulerTests.cluster()
        defer { stop() }
        let engine = Scheduler(model: ClusterModel(coordinator: cluster, maxStepTokens: 32), lanes: 3, maxBatch: 4, maxQueue: 8,
                               maxStepTokens: 32)
        defer { engine.shutdown() }
        let got = try await SchedulerTests.runAll(engine, requests)
        for i in requests.indices { #expect(got[i].0 == expected[i], "request \(i)") }
    }

    /// Drain: new requests are refused at once, running ones finish.
    @Test func drainLetsRunningRequestsFinishAndRefusesNewOnes() async throws {
        let engine = Scheduler(model: try SchedulerTests.local(), lanes: 1, maxBatch: 2, maxQueue: 4, maxStepTokens: 16)
        defer { engine.shutdown() }
        let requests = Self.requests(3)
        let streams = try requests.map { try engine.submit($0) }
        let drained = Task.detached { engine.drain(timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(throws: EngineError.unavailable("shutting down")) { try engine.submit(requests[0]) }
        for (s, r) in zip(streams, requests) {
            let (tokens, finish, _) = try await SchedulerTests.collect(s)
            #expect(finish != nil && !tokens.isEmpty && tokens.count <= r.maxTokens)
        }
        #expect(await drained.value)
    }

    /// Past the drain timeout, shutdown fails what is still running with an error.
    @Test func drainTimeoutThenShutdownFailsWhatIsLeft() async throws {
        let engine = Scheduler(model: try SchedulerTests.local(), lanes: 1, maxBatch: 2, maxQueue: 4)
        let long = TokenRequest(prompt: [1, 2, 3], maxTokens: 2000, sampling: .greedy, stopTokens: [])
        let stream = try engine.submit(long)
        #expect(!engine.drain(timeout: .milliseconds(300)))
        engine.shutdown()
        do {
            _ = try await SchedulerTests.collect(stream)
            Issue.record("the stream finished normally")
        } catch let e as EngineError {
            #expect(e == .unavailable("shutting down"))
        }
    }

    @Test func defaultStepBudgetFollowsTheModelSize() throws {
        let smol = try ModelSource(path: TestAssets.smolLM2).config
        #expect(StepBudget.defaultTokens(config: smol, maxBatch: 8) == 64)
        var big = smol   // DeepSeek LLM 67B's shape
        big.hiddenSize = 8192; big.intermediateSize = 22016; big.layerCount = 95; big.heads = 64; big.kvHeads = 8
        big.headDim = 128; big.vocabSize = 102400
        #expect(StepBudget.defaultTokens(config: big, maxBatch: 8) == 8)
        #expect(StepBudget.defaultTokens(config: big, maxBatch: 3) == 3)
    }
}
