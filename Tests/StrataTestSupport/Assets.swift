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
