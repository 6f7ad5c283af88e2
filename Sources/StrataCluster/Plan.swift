/// Which worker runs which layers, and the memory each needs: the output of `Planner.plan`.
public struct Plan: Sendable, Equatable {
    /// One pipeline stage: a worker and its contiguous, half-open `layerRange`.
    public struct Stage: Sendable, Equatable {
        public var worker: String
        public var endpoint: String
        public var layerRange: Range<Int>
        /// Holds the token embedding.
        public var isFirst: Bool
        /// Holds the final norm, output head and sampler.
        public var isLast: Bool
        /// Layer weights plus the embedding/head this stage holds.
        public var weightBytes: Int
        /// KV cache reserved for this stage's layers.
        public var kvBytes: Int
        /// Activation/workspace allowance.
        public var workspaceBytes: Int
        /// The worker's memory budget.
        public var budgetBytes: Int

        /// Everything this stage needs; never more than `budgetBytes`.
        public var totalBytes: Int { weightBytes + kvBytes + workspaceBytes }
    }

    public var stages: [Stage]
    public var layerCount: Int
    public var precision: ClusterConfig.Precision
    public var context: Int
    public var maxBatch: Int
    public var footprint: ModelFootprint

    /// Total weights across stages (a tied head copied to the last stage counts twice).
    public var totalWeightBytes: Int { stages.reduce(0) { $0 + $1.weightBytes } }
    public var totalKVBytes: Int { stages.reduce(0) { $0 + $1.kvBytes } }

    /// A human-readable table: worker, endpoint, layers [a, b), weights GiB, KV GiB, total / budget.
    public func table(model: String? = nil) -> String {
        var lines: [String] = []
        if let model { lines.append("model: \(model)") }
        lines.append("\(layerCount) layers, \(precision.rawValue), KV for \(context) tokens × \(maxBatch) sequences, "
            + "\(ByteSize.gib(footprint.workspaceBytes)) GiB workspace per worker")
        let header = ["worker", "endpoint", "layers", "weights GiB", "KV GiB", "total / budget GiB"]
        var rows = stages.map { s in
            [s.worker, s.endpoint, "[\(s.layerRange.lowerBound), \(s.layerRange.upperBound))",
             ByteSize.gib(s.weightBytes), ByteSize.gib(s.kvBytes),
             "\(ByteSize.gib(s.totalBytes)) / \(ByteSize.gib(s.budgetBytes))"]
        }
        rows.append(["total", "", "[0, \(layerCount))", ByteSize.gib(totalWeightBytes), ByteSize.gib(totalKVBytes),
                     "\(ByteSize.gib(stages.reduce(0) { $0 + $1.totalBytes })) / \(ByteSize.gib(stages.reduce(0) { $0 + $1.budgetBytes }))"])
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        func render(_ r: [String]) -> String {
            r.enumerated().map { c, v in v.padded(to: widths[c]) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }
        lines.append(render(header))
        lines += rows.map(render)
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }

    fileprivate func padded(to n: Int) -> String {
        count >= n ? self : self + String(repeating: " ", count: n - count)
    }
}
