import Foundation
import StrataKernels
import StrataTestSupport
import Testing

/// `STRATA_ISA` end to end: every kernel variant this CPU runs gives byte-identical greedy text
/// on the 5 reference prompts (the real SmolLM2), says which variant it ran, and a variant the CPU
/// cannot run is refused by name. (Emulated older CPUs: `ops/check-portable`, run by `ops/test`.)
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct KernelVariantCLITests {
    static let prompts = [
        "The capital of France is", "Once upon a time, in a small village,", "import numpy as np\n\ndef softmax(x):",
        "Q: What is the boiling point of water in Fahrenheit?\nA:", "人工智能的未来",
    ]

    @Test func everyVariantGivesTheSameGreedyText() throws {
        let variants = Kernels.available().map(\.isa.rawValue)
        var texts: [String: [String]] = [:]
        for v in variants {
            texts[v] = try Self.prompts.map { prompt in
                let r = try StrataCLI.run(["generate", "--model", TestAssets.smolLM2, "--prompt", prompt, "--max-tokens", "12",
                                           "--temperature", "0"], environment: ["STRATA_ISA": v])
                #expect(r.status == 0, "\(v): \(r.stderr)")
                #expect(r.stderr.contains("kernels: \(v)\n"), "\(v) did not run: \(r.stderr)")
                return r.stdout
            }
        }
        let reference = texts["generic"]!
        #expect(reference.allSatisfy { $0.utf8.count > 10 }, "generic produced too little: \(reference)")
        for v in variants { #expect(texts[v] == reference, "\(v) ≠ generic: \(texts[v]!) vs \(reference)") }
        print("greedy text identical on \(Self.prompts.count) prompts for kernel variants: \(variants.joined(separator: ", "))")
    }

    @Test func unknownOrUnrunnableVariantIsRefused() throws {
        let bogus = try StrataCLI.run(["generate", "--model", TestAssets.smolLM2, "--prompt", "x"], environment: ["STRATA_ISA": "sse9"])
        #expect(bogus.status == 1)
        #expect(bogus.stderr.contains("STRATA_ISA=sse9: unknown kernel variant (choose one of generic, avx2, avx512)"), "\(bogus.stderr)")
        for isa in KernelISA.allCases where !CPUFeatures.current.missing(for: isa).isEmpty {
            let r = try StrataCLI.run(["bench", "kernels"], environment: ["STRATA_ISA": isa.rawValue])
            #expect(r.status == 1)
            #expect(r.stderr.contains("STRATA_ISA=\(isa.rawValue): this CPU lacks "), "\(r.stderr)")
        }
    }
}
