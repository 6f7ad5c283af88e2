import Foundation
import StrataCluster
import StrataModel
import StrataTestSupport
import Testing

/// The planner: contiguous, complete, within budget, proportional to memory × speed.
struct PlannerTests {
    static func cluster(_ memories: [Int], speeds: [Double]? = nil, context: Int = 4096, maxBatch: Int = 8) -> ClusterConfig {
        let workers = memories.enumerated().map { i, m in
            ClusterConfig.Worker(name: "w\(i)", endpoint: "tcp://10.0.0.\(i + 1):5551", memoryBytes: m, speed: speeds?[i] ?? 1)
        }
        return ClusterConfig(model: "m", modelPath: "/m", coordinator: .init(http: "127.0.0.1:8080", control: "tcp://127.0.0.1:5550"),
                             workers: workers, context: context, maxBatch: maxBatch, precision: .fp8, apiKeys: [])
    }

    /// Every plan: stages tile [0, layers) in order, each has ≥ 1 layer and fits its budget.
    static func checkInvariants(_ plan: Plan, layers: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        var next = 0
        for (i, s) in plan.stages.enumerated() {
            #expect(s.layerRange.lowerBound == next && s.layerRange.count >= 1, sourceLocation: sourceLocation)
            #expect(s.totalBytes <= s.budgetBytes, "\(s.worker) over budget", sourceLocation: sourceLocation)
            #expect(s.isFirst == (i == 0) && s.isLast == (i == plan.stages.count - 1), sourceLocation: sourceLocation)
            next = s.layerRange.upperBound
        }
        #expect(next == layers, sourceLocation: sourceLocation)
    }

    @Test func deepSeek67BOnFourBoxesOf32GiB() throws {
        let dir = try ModelFixtures.modelDirectory(ModelFixtures.deepSeek67B)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try ModelMetadata.load(path: dir)
        let plan = try Planner.plan(config: model, cluster: Self.cluster([Int](repeating: 32 << 30, count: 4)))
        Self.checkInvariants(plan, layers: 95)
        #expect(plan.stages.map(\.layerRange.count).allSatisfy { (23...24).contains($0) })
        // ≈ 67.4 B parameters in FP8 ≈ 63 GiB of weights (plus block scales and a second head copy).
        let weightsGiB = Double(plan.totalWeightBytes) / Double(1 << 30)
        #expect(weightsGiB > 62 && weightsGiB < 65, "weights \(weightsGiB) GiB")
        // KV: 95 layers × 4096 × 8 × 2 × 8 × 128 × 4 bytes = 23.75 GiB.
        #expect(plan.totalKVBytes == 95 * 4096 * 8 * 2 * 8 * 128 * 4)
    }

    @Test func deepSeek7BOnThreeUnequalBoxesIsProportional() throws {
        let model = try ModelFixtures.config(ModelFixtures.deepSeek7B)
        let plan = try Planner.plan(config: model, cluster: Self.cluster([16 << 30, 24 << 30, 40 << 30], maxBatch: 1))
        Self.checkInvariants(plan, layers: 30)
        // 16:24:40 of 30 layers = 6 : 9 : 15.
        #expect(plan.stages.map(\.layerRange.count) == [6, 9, 15])
    }

    @Test func tooSmallClusterSaysByHowMuch() throws {
        let model = try ModelFixtures.config(ModelFixtures.deepSeek67B)
        do {
            _ = try Planner.plan(config: model, cluster: Self.cluster([32 << 30, 32 << 30]))
            Issue.record("67B should not fit in 64 GiB")
        } catch let ClusterError.doesNotFit(shortfall, required, available, _) {
            #expect(available == 64 << 30)
            #expect(shortfall >= required - available && shortfall > 20 << 30)
            let message = "\(ClusterError.doesNotFit(shortfallBytes: shortfall, requiredBytes: required, availableBytes: available, detail: ""))"
            #expect(message.contains("short by \(shortfall) bytes") && message.contains("GiB"))
        }
    }

    @Test func workerTooSmallForItsFirstLayer() throws {
        let model = try ModelFixtures.config(ModelFixtures.deepSeek7B)
        #expect(throws: ClusterError.self) {
            try Planner.plan(config: model, cluster: Self.cluster([64 << 30, 300 << 20], maxBatch: 1))
        }
    }

    @Test func oneWorkerHoldsEverythingAndSharesATiedHead() throws {
        let model = try ModelFixtures.config(ModelFixtures.smolLM2)
        let plan = try Planner.plan(config: model, cluster: Self.cluster([4 << 30]))
        Self.checkInvariants(plan, layers: 30)
        let fp = plan.footprint
        #expect(plan.stages[0].weightBytes == 30 * fp.layerWeightBytes + fp.embeddingBytes + fp.finalNormBytes)
        // Split across two stages, the last needs its own copy of the tied head.
        let two = try Planner.plan(config: model, cluster: Self.cluster([2 << 30, 2 << 30]))
        #expect(two.stages[1].weightBytes == 15 * fp.layerWeightBytes + fp.headBytes + fp.finalNormBytes)
    }

    @Test func fiveWorkersForThirtyLayers() throws {
        let model = try ModelFixtures.config(ModelFixtures.smolLM2)
        let plan = try Planner.plan(config: model, cluster: Self.cluster([Int](repeating: 1 << 30, count: 5)))
        Self.checkInvariants(plan, layers: 30)
        #expect(plan.stages.map(\.layerRange.count) == [6, 6, 6, 6, 6])
        let seven = try Planner.plan(config: model, cluster: Self.cluster([Int](repeating: 1 << 30, count: 7)))
        Self.checkInvariants(seven, layers: 30)
        #expect(seven.stages.map(\.layerRange.count).allSatisfy { $0 == 4 || $0 == 5 })
    }

    @Test func speedWeighting() throws {
        let model = try ModelFixtures.config(ModelFixtures.smolLM2)
        let plan = try Planner.plan(config: model, cluster: Self.cluster([4 << 30, 4 << 30], speeds: [1, 2]))
        #expect(plan.stages.map(\.layerRange.count) == [10, 20])
    }

    @Test func fastSmallWorkerOverflowsAndIsRebalanced() throws {
        // w0 is fast but holds only ~6 layers; proportional shares would give it 20 of 30.
        let model = try ModelFixtures.config(ModelFixtures.smolLM2)
        let fp = ModelFootprint(config: model, precision: .fp8, context: 4096, maxBatch: 8, workspaceBytes: 256 << 20)
        let small = fp.workspaceBytes + fp.embeddingBytes + 6 * fp.layerBytes + fp.layerBytes / 2
        let plan = try Planner.plan(config: model, cluster: Self.cluster([small, 4 << 30], speeds: [10, 1]))
        Self.checkInvariants(plan, layers: 30)
        #expect(plan.stages.map(\.layerRange.count) == [6, 24])
    }

    @Test func moreWorkersThanLayers() throws {
        let model = try ModelFixtures.config(ModelFixtures.smolLM2)
        #expect(throws: ClusterError.tooManyWorkers(workers: 31, layers: 30)) {
            try Planner.plan(config: model, cluster: Self.cluster([Int](repeating: 1 << 30, count: 31)))
        }
    }

    @Test func repoDefaultClusterPlansSmolLM2() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("cluster.yaml").path
        let cluster = try ClusterConfig.load(path: path, homeDirectory: NSHomeDirectory())
        // From the published shapes, and from the real GGUF's metadata when the asset is present.
        var models = [try ModelFixtures.config(ModelFixtures.smolLM2)]
        if TestAssets.available(TestAssets.smolLM2) { models.append(try ModelMetadata.load(path: TestAssets.smolLM2)) }
        for model in models {
            let plan = try Planner.plan(config: model, cluster: cluster)
            Self.checkInvariants(plan, layers: 30)
            #expect(plan.stages.map(\.layerRange) == [0..<10, 10..<20, 20..<30])
            let table = plan.table(model: cluster.model)
            #expect(table.contains("w1      tcp://127.0.0.1:5552  [10, 20)"), "\(table)")
        }
    }

    @Test func missingModelIsTyped() {
        #expect(throws: ClusterError.modelMetadata(path: "/nonexistent/model", reason: "no such file or directory")) {
            try ModelMetadata.load(path: "/nonexistent/model")
        }
    }
}
