import Foundation
import StrataModel
import Testing

/// The sampler on fixed logits: greedy, seeded draws, truncations, penalties, validation.
@Suite struct SamplerTests {
    /// 8 logits: token 3 leads, token 5 is close behind, the rest trail.
    static let base: [Float] = [0.1, -1, 0.5, 4.0, -2, 3.6, 0, 1]

    static func sample(_ s: inout Sampler, _ logits: [Float] = base, top: Int = 0) -> SampledToken {
        var l = logits
        return l.withUnsafeMutableBufferPointer { s.sample($0.baseAddress!, count: $0.count, topLogprobs: top) }
    }

    static func logSoftmax(_ l: [Float], _ i: Int) -> Float {
        let m = l.max()!
        return l[i] - m - Foundation.log(l.reduce(0) { $0 + Foundation.exp($1 - m) })
    }

    @Test func greedyPicksArgmaxWithItsLogprob() {
        var s = Sampler(.greedy)
        let t = Self.sample(&s, top: 3)
        #expect(t.token == 3)
        #expect(abs(t.logprob - Self.logSoftmax(Self.base, 3)) < 1e-5)
        #expect(t.top.map(\.token) == [3, 5, 7])
    }

    /// A sampler rebuilt after recovery replays what was sampled and continues exactly: same
    /// draws, same penalty counts, whatever the split point.
    @Test func replayContinuesTheSameSequence() {
        let p = SamplingParameters(temperature: 1.2, presencePenalty: 0.5, frequencyPenalty: 0.3, seed: 77)
        var whole = Sampler(p)
        let tokens = (0..<24).map { _ in Self.sample(&whole).token }
        #expect(Set(tokens).count > 1, "the draws must vary for the test to mean anything")
        for cut in [0, 1, 7, 23] {
            var resumed = Sampler(p)
            resumed.replay(tokens[..<cut])
            let rest = (cut..<24).map { _ in Self.sample(&resumed).token }
            #expect(rest == Array(tokens[cut...]), "cut at \(cut)")
        }
        // Without the replay the continuation differs (the test can fail).
        var fresh = Sampler(p)
        #expect((7..<24).map { _ in Self.sample(&fresh).token } != Array(tokens[7...]))
    }

    /// A sampler moved to another worker (its state exported and rebuilt) continues exactly,
    /// penalties included; a corrupt generator state is refused.
    @Test func exportedStateContinuesTheSameSequence() {
        let p = SamplingParameters(temperature: 0.9, repetitionPenalty: 1.3, presencePenalty: 0.4, frequencyPenalty: 0.2, seed: 5)
        var whole = Sampler(p, prompt: [3, 4, 5])
        let first = (0..<9).map { _ in Self.sample(&whole).token }
        #expect(Set(first).count > 1)
        let state = whole.state
        var moved = Sampler(state: state)!
        #expect(moved.state == state)
        #expect((0..<15).map { _ in Self.sample(&moved).token } == (0..<15).map { _ in Self.sample(&whole).token })
        #expect(Sampler(state: Sampler.State(parameters: p, rng: [0, 0, 0, 0], generated: [], seen: [])) == nil)
        #expect(Sampler(state: Sampler.State(parameters: p, rng: [1, 2], generated: [], seen: [])) == nil)
    }

    @Test func sameSeedSameTokensOtherSeedOthers() {
        func run(_ seed: UInt64) -> [Int] {
            var s = Sampler(SamplingParameters(temperature: 1.5, seed: seed))
            return (0..<64).map { _ in Self.sample(&s).token }
        }
        #expect(run(42) == run(42))
        #expect(run(42) != run(43))
        #expect(Set(run(42)).count > 2, "temperature 1.5 should visit several tokens")
    }

    @Test func truncationsLeaveOnlyTheTop() {
        let cases = [SamplingParameters(temperature: 1, topK: 1, seed: 1),
                     SamplingParameters(temperature: 1, topP: 0.01, seed: 2),
                     SamplingParameters(temperature: 1, minP: 0.9, seed: 3)]
        for p in cases {
            var s = Sampler(p)
            #expect((0..<32).allSatisfy { _ in Self.sample(&s).token == 3 }, "\(p)")
        }
        var two = Sampler(SamplingParameters(temperature: 1, topK: 2, seed: 4))
        #expect(Set((0..<64).map { _ in Self.sample(&two).token }) == [3, 5])
    }

    @Test func frequencyPenaltyMovesGreedyOffARepeatedToken() {
        var s = Sampler(SamplingParameters(frequencyPenalty: 1))
        let first = Self.sample(&s)
        let second = Self.sample(&s)
        #expect(first.token == 3 && second.token == 5)
        // The reported logprob is under the model's distribution, not the penalized one.
        #expect(abs(second.logprob - Self.logSoftmax(Self.base, 5)) < 1e-5)
    }

    @Test func repetitionPenaltyCoversThePrompt() {
        var s = Sampler(SamplingParameters(repetitionPenalty: 1.2), prompt: [3])
        #expect(Self.sample(&s).token == 5)  // 4.0 / 1.2 < 3.6
    }

    @Test func outOfRangeParametersAreNamed() {
        #expect(throws: SamplingError.outOfRange(parameter: "temperature", value: "-1.0", allowed: "[0, ∞)")) {
            try SamplingParameters(temperature: -1).validate()
        }
        #expect(throws: SamplingError.self) { try SamplingParameters(topP: 0).validate() }
        #expect(throws: SamplingError.self) { try SamplingParameters(presencePenalty: 3).validate() }
    }
}
