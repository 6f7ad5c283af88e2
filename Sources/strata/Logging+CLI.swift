import ArgumentParser
import Logging

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Diagnostics go to stderr (stdout carries only generated text), at `level`.
enum CLILogging {
    nonisolated(unsafe) private static var done = false
    static func bootstrap(_ level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}
