import Foundation
import StrataTestSupport
import Testing

/// `strata bench startup` on the real SmolLM2 GGUF: figures for a slice and for the whole model,
/// the ratio as its last line, and a bad layer range refused.
@Suite(.enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct BenchStartupCLITests {
    @Test func reportsReadyOverReadForASlice() throws {
        let r = try StrataCLI.run(["bench", "startup", "--model", TestAssets.smolLM2, "--layers", "3..7", "--passes", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first?.contains("layers 3..7 of 30, 36 tensors") == true, "\(r.stdout)")
        let ratio = lines.last.flatMap { $0.hasPrefix("load_ratio: ") ? Double($0.dropFirst(12)) : nil }
        #expect((ratio ?? 0) > 0, "\(r.stdout)")
    }

    @Test func refusesARangeOutsideTheModel() throws {
        let r = try StrataCLI.run(["bench", "startup", "--model", TestAssets.smolLM2, "--layers", "20..40"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--layers 20..40: the model has 30 layers"), "\(r.stderr)")
    }
}
