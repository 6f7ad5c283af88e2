import Foundation
import Logging
import StrataCluster
import StrataModel
import StrataServer
import StrataTestSupport
import StrataTokenizer
import StrataTransport
import Testing

/// Continuous batching on the real SmolLM2: many concurrent requests, each exactly its solo output.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct SchedulerTests {
    static let prompts = [
        "The capital of France is",
        "Once upon a time, in a small village,",
        "import numpy as np\n\ndef softmax(x):",
        "Q: What is the boiling point of water in Fahrenheit?\nA:",
        "人工智能的未来",
    ]
    static let tokenizer: Tokenizer = try! Tokenizer(gguf: ModelSource(path: TestAssets.smolLM2).gguf!)

    static func local() throws -> LocalModel {
        try LocalModel(source: ModelSource(path: TestAssets.smolLM2), precision: .fp8, threads: 1)
    }

    /// 16 requests: greedy and seeded, different prompts and lengths.
    static func requests() -> [TokenRequest] {
        (0..<16).map { i in
            let sampling = i % 3 == 0 ? SamplingParameters(temperature: 0.8, topK: 40, topP: 0.95, seed: UInt64(i))
                : i % 3 == 1 ? .greedy : SamplingParameters(temperature: 0.6, presencePenalty: 0.4, frequencyPenalty: 0.3, seed: 99)
            return TokenRequest(prompt: tokenizer.encode(prompts[i % prompts.count] + String(repeating: " and", count: i / 5)),
                                maxTokens: 8 + (i % 4) * 3, sampling: sampling, topLogprobs: i % 2 == 0 ? 2 : 0, stopTokens: [2])
        }
    }

    /// What `Generator` produces for the request alone (same stop rule).
    static func solo(_ m: ForwardPass, _ r: TokenRequest) throws -> [Int] {
        var out: [Int] = []
        try Generator(model: m, stopTokens: r.stopTokens).generate(prompt: r.prompt, maxTokens: r.maxTokens, sampling: r.sampling) { out.append($0) }
        return out
    }

    static func collect(_ stream: TokenStream) async throws -> (tokens: [Int], finish: FinishReason?, logprobs: [SampledToken]) {
        var tokens: [Int] = [], all: [SampledToken] = []
        var finish: FinishReason?
        for try await e in stream.events {
            switch e {
            case let .token(t): tokens.append(t.token); all.append(t)
            case let .finished(r): finish = r
            }
        }
        return (tokens, finish, all)
    }

    static func runAll(_ engine: TokenEngine, _ requests: [TokenRequest]) async throws -> [([Int], FinishReason?, [SampledToken])] {
        try await withThrowingTaskGroup(of: (Int, ([Int], FinishReason?, [SampledToken])).self) { group in
            for (i, r) in requests.enumerated() {
                let stream = try engine.submit(r)
                group.addTask { (i, try await collect(stream)) }
            }
            var out = [([Int], FinishReason?, [SampledToken])?](repeating: nil, count: requests.count)
            for try await (i, r) in group { out[i] = r }
            return out.map { $0! }
        }
    }

    @Test func sixteenConcurrentRequestsEqualTheirSoloRunsInOneProcess() async throws {
        let model = try Self.local()
        let requests = Self.requests()
        let expected = try requests.map { try Self.solo(model, $0) }
        let engine = Scheduler(model: model, lanes: 1, maxBatch: 16, maxQueue: 16)
        defer { engine.shutdown() }
        let got = try await Self.runAll(engine, requests)
        for i in requests.indices {
            #expect(got[i].0 == expected[i], "request \(i)")
            #expect(got[i].1 == (expected[i].count == requests[i].maxTokens ? .length : .stop))
            #expect(got[i].2.allSatisfy { $0.logprob <= 0 && $0.top.count == requests[i].topLogprobs })
        }
    }

    /// Three lanes over a three-stage pipeline (in-process network): batches in flight on every
    /// stage at once; a small maxBatch makes requests queue, join and leave between steps.
    @Test func pipelineLanesWithQueueingEqualSoloRuns() async throws {
        let local = try Self.local()
        let requests = Array(Self.requests().prefix(10))
        let expected = try requests.map { try Self.solo(local, $0) }
        let (cluster, stop) = try Self.cluster()
        defer { stop() }
        let engine = Scheduler(model: ClusterModel(coordinator: cluster), lanes: 3, maxBatch: 4, maxQueue: 16)
        defer { engine.shutdown() }
        let got = try await Self.runAll(engine, requests)
        for i in requests.indices { #expect(got[i].0 == expected[i], "request \(i)") }
    }

    @Test func cancellingFreesTheSequenceOnEveryWorker() async throws {
        let (cluster, stop) = try Self.cluster()
        defer { stop() }
        let engine = Scheduler(model: ClusterModel(coordinator: cluster), lanes: 3, maxBatch: 4, maxQueue: 4)
        defer { engine.shutdown() }
        // 2,000 tokens: even if this task is kept off the cooperative pool for a while (other
        // suites' blocking tests), the engine cannot finish before the cancel is seen.
        let stream = try engine.submit(TokenRequest(prompt: Self.tokenizer.encode(Self.prompts[1]), maxTokens: 2000,
                                                    sampling: .greedy, stopTokens: []))
        var seen = 0
        for try await e in stream.events {
            if case .token = e { seen += 1 }
            if seen == 3 { stream.cancel() }
        }
        #expect(seen >= 3 && seen < 2000)
        // Heartbeats (every second) report each worker's open sequences: all go back to 0.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, cluster.health().contains(where: { $0.openSequences != 0 }) || engine.activeCount != 0 {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(engine.activeCount == 0)
        #expect(cluster.health().map(\.openSequences) == [0, 0, 0])
    }

    @Test func admissionLimits() throws {
        let model = try Self.local()
        let engine = Scheduler(model: model, lanes: 1, maxBatch: 1, maxQueue: 1, contextLength: 64)
        defer { engine.shutdown() }
        let long = TokenRequest(prompt: [1, 2, 3], maxTokens: 62, sampling: .greedy, stopTokens: [])
        #expect(throws: EngineError.contextExceeded(promptTokens: 3, maxTokens: 62, limit: 64)) { try engine.submit(long) }
        #expect(throws: EngineError.emptyPrompt) { try engine.submit(TokenRequest(prompt: [], maxTokens: 1, sampling: .greedy, stopTokens: [])) }
        let r = TokenRequest(prompt: [1, 2, 3], maxTokens: 60, sampling: .greedy, stopTokens: [])
        let a = try engine.submit(r), b = try engine.submit(r)
        // One running + one waiting: the third is refused with a retry hint; after a cancel, room again.
        do { _ = try engine.submit(r); Issue.record("a third request was accepted") } catch let e as EngineError {
            if case .queueFull(let s) = e { #expect(s >= 1) } else { Issue.record("expected queueFull, got \(e)") }
        }
        a.cancel()
        let c = try engine.submit(r)
        b.cancel(); c.cancel()
    }

    /// A 3-worker cluster on the in-process network; returns the coordinator and a stop function.
    static func cluster() throws -> (Coordinator, () -> Void) {
        let network = InProcessNetwork()
        var quiet = Logger(label: "strata.test")
        quiet.logLevel = .warning
        var workers: [Worker] = [], members: [ClusterConfig.Worker] = []
        let group = DispatchGroup()
        for i in 0..<3 {
            let w = Worker(network: network, options: WorkerOptions(listen: "mem://w:*", threads: 1, memoryBytes: 1 << 34), logger: quiet)
            members.append(ClusterConfig.Worker(name: "w\(i)", endpoint: try w.bind(), memoryBytes: 1 << 30, threads: 1))
            workers.append(w)
            group.enter()
            Thread { try? w.run(); group.leave() }.start()
        }
        let config = ClusterConfig(model: TestAssets.smolLM2, coordinator: .init(http: "127.0.0.1:0", control: "mem://c:*"),
                                   workers: members, context: 2048, maxBatch: 8)
        let c = try Coordinator(cluster: config, network: network, options: CoordinatorOptions(joinTimeout: .seconds(30)), logger: quiet)
        try c.start()
        return (c, { c.shutdown(workers: true); workers.forEach { $0.stop() }; group.wait() })
    }
}
