import Foundation
import StrataKernels

/// The chosen token and its log-probability under the unmodified distribution.
public struct SampledToken: Sendable, Equatable {
    public var token: Int
    public var logprob: Float
    /// The most likely alternatives (token, logprob), when asked for.
    public var top: [(token: Int, logprob: Float)] = []
    public init(token: Int, logprob: Float, top: [(token: Int, logprob: Float)] = []) {
        self.token = token; self.logprob = logprob; self.top = top
    }
    public static func == (a: SampledToken, b: SampledToken) -> Bool {
        a.token == b.token && a.logprob == b.logprob && a.top.map(\.token) == b.top.map(\.token)
    }
}

/// Picks tokens for one session: penalties → temperature → top-k → top-p → min-p → draw.
/// Holds the session's random stream and token counts, so a seed reproduces a generation.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SeededGenerator
    /// Occurrences of each generated token (presence/frequency penalties).
    private var generatedCounts: [Int: Int] = [:]
    /// Tokens seen in prompt or output (repetition penalty).
    private var seen: Set<Int> = []

    public init(_ parameters: SamplingParameters, prompt: [Int] = []) {
        self.parameters = parameters
        rng = SeededGenerator(seed: parameters.seed)
        if parameters.repetitionPenalty != 1 { seen = Set(prompt) }
    }

    /// Everything a sampler holds, so another process can continue its draws exactly.
    public struct State: Sendable, Equatable {
        public var parameters: SamplingParameters
        public var rng: [UInt64]
        /// Sampled tokens and how often each came (sorted by token).
        public var generated: [(token: Int, count: Int)]
        public var seen: [Int]
        public init(parameters: SamplingParameters, rng: [UInt64], generated: [(token: Int, count: Int)], seen: [Int]) {
            self.parameters = parameters; self.rng = rng; self.generated = generated; self.seen = seen
        }
        public static func == (a: State, b: State) -> Bool {
            a.parameters == b.parameters && a.rng == b.rng && a.seen == b.seen
                && a.generated.map(\.token) == b.generated.map(\.token) && a.generated.map(\.count) == b.generated.map(\.count)
        }
    }

    /// The sampler's state (live re-sharding moves it to the new last stage).
    public var state: State {
        State(parameters: parameters, rng: rng.words, generated: generatedCounts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
              seen: seen.sorted())
    }

    /// A sampler in `state`; nil when the generator state is not 4 words.
    public init?(state: State) {
        guard let g = SeededGenerator(words: state.rng) else { return nil }
        parameters = state.parameters
        rng = g
        generatedCounts = Dictionary(state.generated.map { ($0.token, $0.count) }, uniquingKeysWith: +)
        seen = Set(state.seen)
    }

    /// Records a token that entered the sequence without being sampled here (e.g. forced).
    public mutating func accept(_ token: Int) {
        generatedCounts[token, default: 0] += 1
        if parameters.repetitionPenalty != 1 { seen.insert(token) }
    }

    /// Puts a fresh sampler in the state it had after sampling `tokens`: their penalty counts,
    /// and one random draw each when it draws (temperature > 0), as `sample` would have taken.
    public mutating func replay<S: Sequence<Int>>(_ tokens: S) {
        for t in tokens {
            if parameters.temperature != 0 { _ = rng.nextUnit() }
            accept(t)
        }
    }

    /// Samples from `logits` (vocab,), which it may modify, and records the choice.
    public mutating func sample(_ logits: UnsafeMutablePointer<Float>, count n: Int, topLogprobs: Int = 0) -> SampledToken {
        let logZ = vectorLogSumExp(logits, count: n)
        let top = topLogprobs > 0 ? topIndices(logits, n, topLogprobs).map { (token: $0, logprob: logits[$0] - logZ) } : []
        let replaced = applyPenalties(logits, n)
        let choice = parameters.temperature == 0 ? argmax(logits, count: n) : draw(logits, n)
        let logprob = (replaced[choice] ?? logits[choice]) - logZ
        accept(choice)
        return SampledToken(token: choice, logprob: logprob, top: top)
    }

    /// Applies the penalties in place; returns the original logits of the tokens it changed.
    private func applyPenalties(_ l: UnsafeMutablePointer<Float>, _ n: Int) -> [Int: Float] {
        let p = parameters
        var original: [Int: Float] = [:]
        if p.repetitionPenalty != 1 {
            for t in seen where t < n {
                original[t] = original[t] ?? l[t]
                l[t] = l[t] > 0 ? l[t] / p.repetitionPenalty : l[t] * p.repetitionPenalty
            }
        }
        if p.presencePenalty != 0 || p.frequencyPenalty != 0 {
            for (t, c) in generatedCounts where t < n {
                original[t] = original[t] ?? l[t]
                l[t] -= p.presencePenalty + p.frequencyPenalty * Float(c)
            }
        }
        return original
    }

    /// Temperature, top-k, top-p, min-p over the candidates, then one uniform draw.
    private mutating func draw(_ l: UnsafeMutablePointer<Float>, _ n: Int) -> Int {
        let p = parameters
        let k = p.topK > 0 ? min(p.topK, n) : n
        var cand = k < n ? topIndices(l, n, k) : Array(0..<n).sorted { l[$0] > l[$1] || (l[$0] == l[$1] && $0 < $1) }
        let inv = 1 / p.temperature
        let m = l[cand[0]]
        var probs = cand.map { Foundation.exp((l[$0] - m) * inv) }
        var total = probs.reduce(0, +)
        if p.topP < 1 {
            var acc: Float = 0, keep = probs.count
            for (i, q) in probs.enumerated() { acc += q / total; if acc >= p.topP { keep = i + 1; break } }
            cand.removeLast(cand.count - keep); probs.removeLast(probs.count - keep)
        }
        if p.minP > 0 {
            let cutoff = probs[0] * p.minP
            let keep = probs.firstIndex { $0 < cutoff } ?? probs.count
            cand.removeLast(cand.count - keep); probs.removeLast(probs.count - keep)
        }
        total = probs.reduce(0, +)
        var u = rng.nextUnit() * total
        for (i, q) in probs.enumerated() {
            u -= q
            if u < 0 { return cand[i] }
        }
        return cand[cand.count - 1]
    }
}

/// log Σ exp(x) over n values.
func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = -Float.infinity
    for i in 0..<n { m = max(m, x[i]) }
    var s: Float = 0
    for i in 0..<n { s += Foundation.exp(x[i] - m) }
    return m + Foundation.log(s)
}

/// Indices of the k largest values, largest first (lower index first on ties).
func topIndices(_ x: UnsafePointer<Float>, _ n: Int, _ k: Int) -> [Int] {
    var heap: [Int] = []  // kept sorted descending; k is small in practice
    heap.reserveCapacity(k + 1)
    for i in 0..<n {
        if heap.count == k, let last = heap.last, !(x[i] > x[last]) { continue }
        var lo = 0, hi = heap.count
        while lo < hi { let mid = (lo + hi) / 2; if x[heap[mid]] >= x[i] { lo = mid + 1 } else { hi = mid } }
        heap.insert(i, at: lo)
        if heap.count > k { heap.removeLast() }
    }
    return heap
}
