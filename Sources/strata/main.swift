import ArgumentParser

struct Strata: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Serve DeepSeek-family models across ordinary Linux boxes.",
        subcommands: [PlanCommand.self])
}
Strata.main()
