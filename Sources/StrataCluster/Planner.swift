import StrataModel

/// Options of the planner beyond what cluster.yaml says.
public struct PlanOptions: Sendable, Equatable {
    /// Fixed per-worker allowance for activations, attention scratch and runtime overhead.
    public var workspaceBytes: Int

    public init(workspaceBytes: Int = 256 << 20) { self.workspaceBytes = workspaceBytes }
}

/// Splits a model's decoder layers into contiguous stages, one per worker, in cluster.yaml order.
///
/// Pure and instant: it needs only the model config (config.json or GGUF metadata). Each worker
/// gets a share of layers proportional to memory × speed, at least one layer, and never more than
/// its memory holds (weights + KV for context × max_batch + workspace); shares that rounding or
/// the first/last stage's extra weights push over a budget move to workers with room. Any number
/// of workers, no divisibility rules.
public enum Planner {
    public static func plan(config: ModelConfig, cluster: ClusterConfig, options: PlanOptions = PlanOptions()) throws -> Plan {
        let fp = ModelFootprint(config: config, precision: cluster.precision, context: cluster.context,
                                maxBatch: cluster.maxBatch, workspaceBytes: options.workspaceBytes)
        let workers = cluster.workers, n = workers.count, layers = config.layerCount
        guard n <= layers else { throw ClusterError.tooManyWorkers(workers: n, layers: layers) }
        let extras = (0..<n).map { fp.extraWeightBytes(isFirst: $0 == 0, isLast: $0 == n - 1) }
        let capacity = (0..<n).map { i in max(0, workers[i].memoryBytes - extras[i] - fp.workspaceBytes) / fp.layerBytes }
        let weights = workers.map { Double($0.memoryBytes) * $0.speed }
        let total = weights.reduce(0, +)
        let ideal = weights.map { Double(layers) * $0 / total }
        guard let counts = distribute(layers, ideal: ideal, capacity: capacity) else {
            throw doesNotFit(fp, workers: workers, extras: extras, capacity: capacity, layers: layers)
        }
        var stages: [Plan.Stage] = []
        var start = 0
        for (i, w) in workers.enumerated() {
            let k = counts[i]
            stages.append(Plan.Stage(
                worker: w.name, endpoint: w.endpoint, layerRange: start..<start + k, isFirst: i == 0, isLast: i == n - 1,
                weightBytes: k * fp.layerWeightBytes + extras[i], kvBytes: k * fp.layerKVBytes,
                workspaceBytes: fp.workspaceBytes, budgetBytes: w.memoryBytes))
            start += k
        }
        return Plan(stages: stages, layerCount: layers, precision: cluster.precision, context: cluster.context,
                    maxBatch: cluster.maxBatch, footprint: fp)
    }

    /// Integer layer counts summing to `layers`, each in 1...capacity, as close to `ideal` as the
    /// caps allow (largest remainder first); nil when the caps cannot hold all layers.
    static func distribute(_ layers: Int, ideal: [Double], capacity: [Int]) -> [Int]? {
        guard capacity.allSatisfy({ $0 >= 1 }), capacity.reduce(0, +) >= layers else { return nil }
        var k = ideal.indices.map { min(capacity[$0], max(1, Int(ideal[$0]))) }
        while k.reduce(0, +) > layers {
            let i = k.indices.filter { k[$0] > 1 }.max { Double(k[$0]) - ideal[$0] < Double(k[$1]) - ideal[$1] }!
            k[i] -= 1
        }
        while k.reduce(0, +) < layers {
            let i = k.indices.filter { k[$0] < capacity[$0] }.max { ideal[$0] - Double(k[$0]) < ideal[$1] - Double(k[$1]) }!
            k[i] += 1
        }
        return k
    }

    /// The error for a cluster too small: how much memory is missing, at least.
    ///
    /// The shortfall is the larger of the total deficit (all parts − all budgets) and what the
    /// layer granularity demands: each worker short of its extras + workspace + one layer needs that
    /// much more, and the layers that still find no room need their bytes beyond the largest leftover.
    static func doesNotFit(_ fp: ModelFootprint, workers: [ClusterConfig.Worker], extras: [Int], capacity: [Int], layers: Int) -> ClusterError {
        let n = workers.count
        let available = workers.reduce(0) { $0 + $1.memoryBytes }
        let weights = layers * fp.layerWeightBytes + extras.reduce(0, +)
        let kv = layers * fp.layerKVBytes, workspace = n * fp.workspaceBytes
        let required = weights + kv + workspace
        let floor = (0..<n).map { extras[$0] + fp.workspaceBytes + fp.layerBytes }
        let deficits = (0..<n).reduce(0) { $0 + max(0, floor[$1] - workers[$1].memoryBytes) }
        let placed = capacity.reduce(0) { $0 + max($1, 1) }
        let leftover = (0..<n).map { i in max(0, workers[i].memoryBytes - extras[i] - fp.workspaceBytes - max(capacity[i], 1) * fp.layerBytes) }
        let unplaced = max(0, layers - placed)
        let granular = deficits + max(0, unplaced * fp.layerBytes - (leftover.max() ?? 0))
        let shortfall = max(required - available, granular, 1)
        let detail = "Needs weights \(ByteSize.gib(weights)) GiB + KV \(ByteSize.gib(kv)) GiB + workspace "
            + "\(ByteSize.gib(workspace)) GiB; one layer is \(ByteSize.gib(fp.layerBytes)) GiB. "
            + "Add memory or workers, or lower context / max_batch."
        return .doesNotFit(shortfallBytes: shortfall, requiredBytes: required, availableBytes: available, detail: detail)
    }
}
