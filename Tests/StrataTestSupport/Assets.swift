import Foundation

/// Locates the real test assets that `ops/test` fetches from PyPI wheels into a cache
/// (`$STRATA_ASSETS`, default `~/.cache/strata/assets`).
public enum TestAssets {
    public static var root: String {
        if let p = ProcessInfo.processInfo.environment["STRATA_ASSETS"] { return p }
        return NSHomeDirectory() + "/.cache/strata/assets"
    }
    /// When set (ops/test sets it), a missing asset is a failure rather than a skip.
    public static var required: Bool { ProcessInfo.processInfo.environment["STRATA_REQUIRE_ASSETS"] == "1" }

    public static var smolLM2: String { root + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" }
    public static func tokenizerDirectory(_ name: String) -> String { root + "/tokenizers/" + name }

    /// True when the asset exists, or when assets are required (so the test runs and fails loudly).
    public static func available(_ path: String) -> Bool {
        required || FileManager.default.fileExists(atPath: path)
    }
}

/// Runs the built `strata` executable (it sits beside the test bundle in the build folder).
public enum StrataCLI {
    public struct Result: Sendable { public let status: Int32; public let stdout: String; public let stderr: String }

    public static var executable: String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.lastPathComponent == "MacOS" { dir = dir.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        return dir.appendingPathComponent("strata").path
    }

    /// Runs `strata args…` to completion, feeding `stdin`.
    public static func run(_ args: [String], stdin: String = "", environment: [String: String] = [:]) throws -> Result {
        try runTool(executable, args, stdin: stdin, environment: environment)
    }

    /// Runs any program to completion, feeding `stdin`; `environment` is added to this process's.
    public static func runTool(_ path: String, _ args: [String], stdin: String = "", environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = inp
        try p.run()
        inp.fileHandleForWriting.write(Data(stdin.utf8))
        try inp.fileHandleForWriting.close()
        // Read both pipes concurrently so neither fills up and blocks the child.
        let errData = PipeData()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData.data, as: UTF8.self))
    }
}

/// What one reader thread read from a pipe; read only after that thread is done (`group.wait()`).
private final class PipeData: @unchecked Sendable {
    var data = Data()
}
