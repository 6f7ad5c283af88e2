import ArgumentParser
import Foundation
import StrataCluster

/// `strata plan --config cluster.yaml`: which worker runs which layers, and the memory each needs.
/// Reads only the model's metadata (config.json or GGUF header), so it is instant.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show how cluster.yaml splits the model's layers across workers, with memory per worker.")

    @Option(name: .long, help: "Path to cluster.yaml.")
    var config: String = "cluster.yaml"

    @Option(name: .long, help: "Base URL of the running server (e.g. http://127.0.0.1:8080): also show how this file's plan differs from the one in force, before the edit is applied.")
    var current: String?

    func run() throws {
        let cluster = try ClusterConfig.load(path: config, homeDirectory: NSHomeDirectory())
        let model = try ModelMetadata.load(path: cluster.modelPath)
        let plan = try Planner.plan(config: model, cluster: cluster)
        print(plan.table(model: cluster.modelPath))
        if let current {
            let running = try Self.runningLayers(current)
            print("\nagainst the plan in force at \(current):")
            print(Self.diff(running: running, new: plan, configured: Set(cluster.workers.map(\.name))).joined(separator: "\n"))
        }
    }

    /// Worker → layer range ("[0,10)" or "none") from a running server's /health.
    static func runningLayers(_ url: String) throws -> [(name: String, layers: String)] {
        let client = try HTTPStreamClient(url: url)
        var body = ""
        let status = try client.request(method: "GET", path: "/health", body: nil) { body += $0 }
        guard status == 200 || status == 503,
              let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let workers = json["workers"] as? [[String: Any]] else {
            throw ValidationError("\(url)/health did not answer with the cluster's workers (HTTP \(status))")
        }
        return workers.compactMap { w in (w["name"] as? String).map { ($0, w["layer_range"] as? String ?? "none") } }
    }

    /// One line per worker whose layers change: "w0  [0,10) → [0,8)", "w3  (new) → [23,30)",
    /// "w1  [10,20) → removed"; or that nothing changes.
    static func diff(running: [(name: String, layers: String)], new plan: Plan, configured: Set<String>) -> [String] {
        let now = Dictionary(running.map { ($0.name, $0.layers) }, uniquingKeysWith: { a, _ in a })
        let next = Dictionary(plan.stages.map { ($0.worker, "[\($0.layerRange.lowerBound),\($0.layerRange.upperBound))") },
                              uniquingKeysWith: { a, _ in a })
        var lines: [String] = []
        for name in running.map(\.name) + plan.stages.map(\.worker) where !lines.contains(where: { $0.hasPrefix(name + "  ") }) {
            let before = now[name].map { $0 == "none" ? "no layers" : $0 } ?? "(new)"
            let after = next[name] ?? (configured.contains(name) ? "no layers" : "removed")
            if before != after { lines.append("\(name)  \(before) → \(after)") }
        }
        return lines.isEmpty ? ["no change"] : lines
    }
}
