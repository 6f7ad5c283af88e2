import Foundation
import StrataModel
import StrataTokenizer
import StrataTestSupport
import Testing

/// The real SmolLM2-135M-Instruct Q4_1 GGUF against llama.cpp's outputs on the same file
/// (Fixtures/smollm2-llamacpp.json, copied from shared/reference; see Fixtures/README.md).
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct SmolLM2Tests {
    struct Reference: Decodable {
        struct Prompt: Decodable {
            let prompt: String
            let prompt_ids: [Int]
            let greedy_ids: [Int]
            let q8_0_agrees_for_tokens: Int?
            let top5_first: [[Double]]
            var top5: [[Double]] { top5_first }
            /// Gap between the first and second most likely first tokens.
            var firstMargin: Double { top5[0][1] - top5[1][1] }
        }
        let prompts: [Prompt]

        static func load(_ name: String) -> Reference {
            let url = Bundle.module.url(forResource: "Fixtures/" + name, withExtension: "json")!
            return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        }
    }

    /// llama.cpp on the Q4_1 file (Q8_1-quantized activations in its dot products).
    static let llamaCpp = Reference.load("smollm2-llamacpp")
    /// The same weights through an independent float64 numpy forward pass (ops/reference).
    static let exact = Reference.load("smollm2-exact")

    static func model(_ p: WeightPrecision) throws -> LocalModel {
        try SharedModels.shared.model(TestAssets.smolLM2, p)
    }

    /// Greedy tokens generated from `ids`.
    static func greedy(_ m: LocalModel, _ ids: [Int], _ n: Int) throws -> [Int] {
        var out: [Int] = []
        try Generator(model: m, stopTokens: []).generate(prompt: ids, maxTokens: n, sampling: .greedy) { out.append($0) }
        return out
    }

    static func agreement(_ a: [Int], _ b: [Int]) -> Int { zip(a, b).prefix { $0 == $1 }.count }

    /// Logits at the last prompt position.
    static func firstLogits(_ m: LocalModel, _ ids: [Int]) throws -> [Float] {
        try m.openSession(77, sampling: .greedy, prompt: [])
        defer { m.closeSession(77) }
        return Array(try m.logits(session: 77, tokens: ids).suffix(m.config.vocabSize))
    }

    @Test func f32EqualsExactReference() throws {
        let m = try Self.model(.f32)
        for p in Self.exact.prompts {
            let got = try Self.greedy(m, p.prompt_ids, p.greedy_ids.count)
            #expect(got == p.greedy_ids, "\(p.prompt.debugDescription): f32 greedy \(got) ≠ exact \(p.greedy_ids)")
            let logits = try Self.firstLogits(m, p.prompt_ids)
            for ref in p.top5 {
                #expect(abs(Double(logits[Int(ref[0])]) - ref[1]) < 2e-3, "\(p.prompt.debugDescription): logit \(Int(ref[0])) = \(logits[Int(ref[0])]), exact \(ref[1])")
            }
        }
    }

    /// f32 must keep llama.cpp's tokens as long as llama.cpp's Q8_0 copy does — or as long as the
    /// exact model itself does, where llama.cpp's activation quantization makes it diverge sooner.
    @Test func f32AgreesWithLlamaCpp() throws {
        let m = try Self.model(.f32)
        for (p, e) in zip(Self.llamaCpp.prompts, Self.exact.prompts) {
            let got = try Self.greedy(m, p.prompt_ids, p.greedy_ids.count)
            let agree = Self.agreement(got, p.greedy_ids), exactAgree = Self.agreement(e.greedy_ids, p.greedy_ids)
            let need = min(p.q8_0_agrees_for_tokens!, exactAgree)
            print("smollm2 f32 agrees with llama.cpp for \(agree)/32 tokens (Q8_0 copy: \(p.q8_0_agrees_for_tokens!), exact model: \(exactAgree)): \(p.prompt.debugDescription)")
            #expect(agree >= need, "\(p.prompt.debugDescription): agrees for \(agree), need \(need); got \(got)")
        }
    }

    /// FP8 keeps at least 3 of llama.cpp's tokens on every prompt (issue 2's criterion).
    ///
    /// Near ties: E4M3's 3-bit mantissa adds about 0.4 logit (σ) of rounding noise to the first
    /// logits here, and llama.cpp's own first-token margin on "人工智能的未来" is only 0.155, so which
    /// way a tie falls depends on the deterministic rounding. With scale = amax/448 the Chinese prompt
    /// started with llama.cpp's third choice ("，"); the per-block MSE scale search
    /// (FP8ScaleSearch.swift) picks its first with a margin of +0.40. A change to the weights or to
    /// the rounding rule can flip such a prompt again: the margin is printed for that reason.
    @Test func fp8AgreesWithLlamaCpp() throws {
        let m = try Self.model(.fp8)
        for p in Self.llamaCpp.prompts {
            let got = try Self.greedy(m, p.prompt_ids, p.greedy_ids.count)
            let agree = Self.agreement(got, p.greedy_ids)
            let logits = try Self.firstLogits(m, p.prompt_ids)
            let first = Int(p.top5[0][0])
            let rival = logits.indices.filter { $0 != first }.max { logits[$0] < logits[$1] }!
            print("smollm2 fp8 agrees with llama.cpp for \(agree)/32 tokens (llama.cpp first-token margin \(p.firstMargin), ours \(logits[first] - logits[rival])): \(p.prompt.debugDescription)")
            #expect(agree >= 3, "\(p.prompt.debugDescription): agrees for \(agree) tokens, need 3; got \(got)")
        }
    }

    /// llama.cpp's top-5 first logits, each centred on the five's mean (a constant shift of all
    /// logits changes no probability).
    @Test(arguments: WeightPrecision.allCases)
    func firstLogitsNearLlamaCpp(_ precision: WeightPrecision) throws {
        let m = try Self.model(precision)
        for p in Self.llamaCpp.prompts {
            let logits = try Self.firstLogits(m, p.prompt_ids)
            let ids = p.top5.map { Int($0[0]) }
            let ours = ids.map { Double(logits[$0]) }, theirs = p.top5.map { $0[1] }
            let (mo, mt) = (ours.reduce(0, +) / 5, theirs.reduce(0, +) / 5)
            // llama.cpp quantizes activations to Q8_1 for its Q4_1 dot products (the exact model
            // differs from it by up to 0.41); FP8 weights add their own rounding.
            let bound = precision == .f32 ? 0.5 : 1.0
            for i in 0..<5 {
                let d = abs((ours[i] - mo) - (theirs[i] - mt))
                #expect(d < bound, "\(precision) \(p.prompt.debugDescription): centred logit of \(ids[i]) off by \(d)")
            }
        }
    }
}

extension SmolLM2Tests {
    /// llama-perplexity -c 512 on Debian's GPL-3 text (shared/REFERENCES.md): Q4_1 18.3914 and
    /// F16 18.3022 — the same weights; F16 is the figure without activation quantization, which
    /// is what the exact f32 path computes.
    @Test(arguments: WeightPrecision.allCases)
    func perplexityMatchesLlamaCpp(_ precision: WeightPrecision) throws {
        let m = try Self.model(precision)
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: TestAssets.smolLM2))
        let text = try String(contentsOfFile: "/usr/share/common-licenses/GPL-3", encoding: .utf8)
        let r = try m.perplexity(tokens: tokenizer.encode(text), context: 512)
        let (reference, tolerance) = precision == .f32 ? (18.3022, 0.005) : (18.3914, 0.02)
        print("smollm2 \(precision) perplexity \(r.perplexity) over \(r.chunks) chunks (llama.cpp Q4_1 18.3914, F16 18.3022)")
        #expect(r.chunks == 14)
        #expect(abs(r.perplexity / reference - 1) < tolerance, "\(precision): perplexity \(r.perplexity) vs llama.cpp \(reference)")
    }
}

/// Loads each (path, precision) once per test process.
final class SharedModels: @unchecked Sendable {
    static let shared = SharedModels()
    private var models: [String: LocalModel] = [:]
    private let lock = NSLock()
    func model(_ path: String, _ p: WeightPrecision) throws -> LocalModel {
        lock.lock(); defer { lock.unlock() }
        let key = "\(path)|\(p)"
        if let m = models[key] { return m }
        let m = try LocalModel(source: ModelSource(path: path), precision: p, threads: ProcessInfo.processInfo.activeProcessorCount)
        models[key] = m
        return m
    }
}
