import Foundation
import StrataModel
import StrataTestSupport
import Testing

/// `strata bench batch` on a tiny checkpoint (no timing assertions).
@Suite struct BatchBenchTests {
    @Test func reportsEveryPartAndAParseableRatioAndClosesItsSessions() throws {
        let ckpt = try TinyCheckpoint(.gqaTied)
        defer { ckpt.remove() }
        let model = try LocalModel(source: ModelSource(path: ckpt.directory), precision: .fp8, threads: 2)
        var options = BatchBench.Options(batch: 3, passes: 2)
        options.promptTokens = 5
        var lines: [String] = []
        let parts = try BatchBench.run(model, options) { lines.append($0) }
        #expect(parts.map(\.name) == ["decode step", "layer linears", "output head", "sampling"])
        #expect(parts.allSatisfy { $0.one > 0 && $0.many > 0 })
        for p in parts { #expect(lines.contains { $0.hasPrefix(p.name) }, "no line for \(p.name)") }
        let last = try #require(lines.last)
        #expect(last.hasPrefix("batch_decode_ratio: "))
        let ratio = try #require(Double(last.dropFirst("batch_decode_ratio: ".count)))
        #expect(abs(ratio - 3 * parts[0].one / parts[0].many) <= 0.0006)  // printed with 3 decimals
        // Its sessions are closed: a second run opens the same ids again.
        #expect(throws: Never.self) { try BatchBench.run(model, options) { _ in } }
    }

    /// More passes than the model's context holds: the refused step's error ends the run (no crash),
    /// and the sessions are closed all the same.
    @Test func aStepTheModelRefusesEndsTheRunWithItsError() throws {
        let ckpt = try TinyCheckpoint(.gqaTied)   // 512 positions
        defer { ckpt.remove() }
        let model = try LocalModel(source: ModelSource(path: ckpt.directory), precision: .fp8, threads: 2)
        var options = BatchBench.Options(batch: 2, passes: 300)
        options.promptTokens = 5
        #expect(throws: ForwardError.contextOverflow(positions: 513, limit: 512)) { try BatchBench.run(model, options) { _ in } }
        options.passes = 2
        #expect(throws: Never.self) { try BatchBench.run(model, options) { _ in } }
    }

    @Test func badOptionsAreRejectedNamingTheOption() {
        #expect(throws: BatchBenchError.invalid(option: "batch", value: 1, reason: "must be at least 2")) {
            try BatchBench.Options(batch: 1, passes: 3).validate()
        }
        #expect(throws: BatchBenchError.invalid(option: "passes", value: 0, reason: "must be at least 1")) {
            try BatchBench.Options(batch: 8, passes: 0).validate()
        }
    }
}
