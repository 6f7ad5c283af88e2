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

    func run() throws {
        let cluster = try ClusterConfig.load(path: config, homeDirectory: NSHomeDirectory())
        let model = try ModelMetadata.load(path: cluster.modelPath)
        let plan = try Planner.plan(config: model, cluster: cluster)
        print(plan.table(model: cluster.modelPath))
    }
}
