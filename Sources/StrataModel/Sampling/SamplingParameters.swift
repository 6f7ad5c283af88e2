/// How to pick the next token from logits. `temperature == 0` is greedy (argmax).
public struct SamplingParameters: Sendable, Equatable, Codable {
    public var temperature: Float = 0
    /// Keep the k most likely tokens (0: off).
    public var topK: Int = 0
    /// Keep the smallest set whose probability reaches p (1: off).
    public var topP: Float = 1
    /// Drop tokens below minP × the top probability (0: off).
    public var minP: Float = 0
    /// HF/CTRL repetition penalty over prompt and generated tokens (1: off).
    public var repetitionPenalty: Float = 1
    /// OpenAI presence penalty over generated tokens (0: off).
    public var presencePenalty: Float = 0
    /// OpenAI frequency penalty over generated tokens (0: off).
    public var frequencyPenalty: Float = 0
    /// Seed of the session's random stream; same seed, same tokens.
    public var seed: UInt64 = 0

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, presencePenalty: Float = 0, frequencyPenalty: Float = 0, seed: UInt64 = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.minP = minP
        self.repetitionPenalty = repetitionPenalty; self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty; self.seed = seed
    }

    public static let greedy = SamplingParameters()

    /// Throws naming the first out-of-range parameter.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ v: Any, _ range: String) throws {
            if !ok { throw SamplingError.outOfRange(parameter: name, value: "\(v)", allowed: range) }
        }
        try check(temperature >= 0 && temperature.isFinite, "temperature", temperature, "[0, ∞)")
        try check(topK >= 0, "top_k", topK, "≥ 0")
        try check(topP > 0 && topP <= 1, "top_p", topP, "(0, 1]")
        try check(minP >= 0 && minP <= 1, "min_p", minP, "[0, 1]")
        try check(repetitionPenalty > 0 && repetitionPenalty.isFinite, "repetition_penalty", repetitionPenalty, "(0, ∞)")
        try check(presencePenalty >= -2 && presencePenalty <= 2, "presence_penalty", presencePenalty, "[-2, 2]")
        try check(frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequency_penalty", frequencyPenalty, "[-2, 2]")
    }
}

/// Errors in sampling parameters.
public enum SamplingError: Error, CustomStringConvertible, Equatable {
    /// A parameter lies outside its allowed range.
    case outOfRange(parameter: String, value: String, allowed: String)
    public var description: String {
        switch self { case let .outOfRange(p, v, a): return "\(p) = \(v) is outside \(a)" }
    }
}

/// xoshiro256** seeded through SplitMix64: a small, fast, reproducible generator.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }
    /// The generator at a saved state (`words`); nil unless 4 words, not all zero.
    public init?(words: [UInt64]) {
        guard words.count == 4, words.contains(where: { $0 != 0 }) else { return nil }
        s = (words[0], words[1], words[2], words[3])
    }
    /// Its state, for `init(words:)`.
    public var words: [UInt64] { [s.0, s.1, s.2, s.3] }
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3; s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }
    /// Uniform in [0, 1) with 24 bits.
    public mutating func nextUnit() -> Float { Float(next() >> 40) * 0x1p-24 }
}
