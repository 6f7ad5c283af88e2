import Foundation
import StrataKernels

/// `strata bench batch`: what batching decode buys on a real checkpoint, in one process.
///
/// Serving N streams runs one decode step over N sequences instead of N steps over one, so the
/// weights stream from memory once per N tokens. The figure of merit is
/// `batch_decode_ratio = N · t(1) ÷ t(N)` (tokens/s at batch N over tokens/s at batch 1, the
/// pipeline's ceiling for the same ratio measured through `strata bench serve`). The parts of a
/// step that carry weights or scale with the batch — the decoder layers' linears, the output head,
/// sampling — are also timed alone at both sizes, so the part that scales worst is named (timed
/// alone they do not add up to the step exactly: caches and the machine differ between passes).
/// Batch-1 and batch-N passes alternate, so both medians see the same machine.
public enum BatchBench {
    public struct Options: Sendable {
        /// Sequences decoded together.
        public var batch: Int
        /// Timed passes per figure (median reported), after one untimed warm-up.
        public var passes: Int
        /// Prompt tokens prefilled into each sequence before timing.
        public var promptTokens: Int = 32

        public init(batch: Int, passes: Int) { self.batch = batch; self.passes = passes }

        public func validate() throws {
            guard batch >= 2 else { throw BatchBenchError.invalid(option: "batch", value: batch, reason: "must be at least 2") }
            guard passes >= 1 else { throw BatchBenchError.invalid(option: "passes", value: passes, reason: "must be at least 1") }
        }
    }

    /// One timed part of a decode step at batch 1 and at batch N (median seconds).
    public struct Part: Sendable {
        public var name: String
        public var one: Double
        public var many: Double
    }

    /// Runs the benchmark; the last line is exactly `batch_decode_ratio: X`.
    @discardableResult
    public static func run(_ model: LocalModel, _ o: Options, report: (String) -> Void = { print($0) }) throws -> [Part] {
        try o.validate()
        let c = model.config, n = o.batch
        let ids = (0..<UInt64(n)).map { 1_000 + $0 }
        for (i, id) in ids.enumerated() {
            // Distinct prompts: token ids spread over the vocabulary, different per sequence.
            let prompt = (0..<o.promptTokens).map { (17 &* $0 &+ 101 &* i &+ 3) % c.vocabSize }
            try model.openSession(id, sampling: SamplingParameters(temperature: 0), prompt: prompt)
            _ = try model.step([SequenceStep(session: id, tokens: prompt)])
        }
        defer { ids.forEach(model.closeSession) }
        var next = [Int](repeating: 1, count: n)
        var failure: Error?   // a refused step (e.g. the context is full) ends the run with its error
        func step(_ count: Int) {
            guard failure == nil else { return }
            do {
                let out = try model.step((0..<count).map { SequenceStep(session: ids[$0], tokens: [next[$0]]) })
                for (i, t) in out.enumerated() { next[i] = t.token }
            } catch { failure = error }
        }

        let h = c.hiddenSize, v = c.vocabSize
        let x = UnsafeMutablePointer<Float>.allocate(capacity: n * max(h, c.intermediateSize))
        let y = UnsafeMutablePointer<Float>.allocate(capacity: n * max(v, c.intermediateSize, c.heads * c.headDim))
        defer { x.deallocate(); y.deallocate() }
        var rng = BenchRandom(seed: 0xBA7C4)
        rng.fillFloats(x, count: n * max(h, c.intermediateSize))
        for i in 0..<(n * max(h, c.intermediateSize)) { x[i] *= 0.5 }
        let linears = model.stack.layers.flatMap { [$0.q, $0.k, $0.v, $0.o, $0.gate, $0.up, $0.down] }
        func layersLinears(_ b: Int) { for w in linears { w.forward(x, batch: b, into: y, pool: model.pool) } }
        func head(_ b: Int) { model.head.forward(x, batch: b, into: y, pool: model.pool) }
        // Sampling as the last stage does it: each row's sampler on its own row, rows over the pool.
        var samplers = [Sampler](repeating: Sampler(SamplingParameters(temperature: 0), prompt: []), count: n)
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: n * v)
        defer { logits.deallocate() }
        func sample(_ b: Int) {
            logits.update(from: y, count: b * v)
            samplers.withUnsafeMutableBufferPointer { s in
                model.pool.parallelFor(b) { range in
                    for r in range { _ = s[r].sample(logits + r * v, count: v) }
                }
            }
        }
        head(n)

        let parts: [(String, (Int) -> Void)] = [
            ("decode step", step), ("layer linears", layersLinears), ("output head", head), ("sampling", sample),
        ]
        var results: [Part] = []
        for (name, body) in parts {
            body(1); body(n)
            var ones: [Double] = [], manys: [Double] = []
            for _ in 0..<o.passes {
                ones.append(BenchTiming.seconds { body(1) })
                manys.append(BenchTiming.seconds { body(n) })
            }
            if let failure { throw failure }
            results.append(Part(name: name, one: BenchTiming.median(ones), many: BenchTiming.median(manys)))
        }
        let weights = Double(model.weightBytes) / Double(1 << 20)
        report(String(format: "model: %d layers, hidden %d, vocab %d; %.1f MiB of weights; %d threads; batch 1 vs %d, median of %d",
                      c.layerCount, h, v, weights, model.pool.threads, n, o.passes))
        func line(_ name: String, _ one: Double, _ many: Double) -> String {
            name.padding(toLength: 20, withPad: " ", startingAt: 0)
                + String(format: "%10.2f %11.2f %12.2f×", one * 1e3, many * 1e3, many / one)
        }
        report("part                  batch 1 ms  batch \(n) ms  batch \(n) ÷ 1")
        for p in results { report(line(p.name, p.one, p.many)) }
        let s = results[0]
        report(String(format: "tokens/s: batch 1 %.1f, batch %d %.1f", 1 / s.one, n, Double(n) / s.many))
        report(String(format: "batch_decode_ratio: %.3f", Double(n) * s.one / s.many))
        return results
    }
}

/// Errors of `strata bench batch`.
public enum BatchBenchError: Error, CustomStringConvertible, Equatable {
    case invalid(option: String, value: Int, reason: String)

    public var description: String {
        switch self {
        case let .invalid(option, value, reason): return "bench batch: \(option) = \(value) \(reason)"
        }
    }
}
