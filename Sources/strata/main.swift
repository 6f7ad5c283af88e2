import ArgumentParser
import Foundation
import StrataKernels

struct Strata: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Serve DeepSeek-family models across ordinary Linux boxes.",
        subcommands: [Generate.self, Perplexity.self, TokenizeCommand.self, ChatTemplateCommand.self, PlanCommand.self, UpCommand.self, CoordinatorCommand.self, WorkerCommand.self, KeysCommand.self, SynthCommand.self, Bench.self])
}
// STRATA_ISA names a kernel variant this CPU cannot run (or none at all): say so before anything
// starts, rather than die of SIGILL or quietly run another variant.
do {
    _ = try Kernels.select()
} catch {
    FileHandle.standardError.write(Data("strata: \(error)\n".utf8))
    exit(1)
}
Strata.main()
