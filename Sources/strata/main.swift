import ArgumentParser

struct Strata: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Serve DeepSeek-family models across ordinary Linux boxes.",
        subcommands: [Generate.self, Perplexity.self, TokenizeCommand.self, ChatTemplateCommand.self, PlanCommand.self, UpCommand.self, CoordinatorCommand.self, WorkerCommand.self, KeysCommand.self, SynthCommand.self, Bench.self])
}
Strata.main()
