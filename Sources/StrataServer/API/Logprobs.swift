// Log-probabilities in the two shapes OpenAI uses: the legacy completions object (parallel
// arrays) and the chat object (one entry per token with its bytes and alternatives).

/// One generated token as clients see it: its text, log-probability and alternatives.
struct TokenLogprob: Sendable, Equatable {
    var token: String
    var logprob: Float
    var top: [(token: String, logprob: Float)]
    /// Offset of the token's text in the completion, in Unicode scalars (legacy `text_offset`).
    var textOffset: Int

    static func == (a: TokenLogprob, b: TokenLogprob) -> Bool {
        a.token == b.token && a.logprob == b.logprob && a.textOffset == b.textOffset && a.top.map(\.token) == b.top.map(\.token)
    }
}

/// JSON has no infinities; OpenAI reports impossible tokens as -9999.
func finiteLogprob(_ x: Float) -> Double { x.isFinite ? Double(x) : -9999 }

/// Legacy `/v1/completions` logprobs: `{tokens, token_logprobs, top_logprobs, text_offset}`.
struct LegacyLogprobs: Encodable, Sendable {
    var tokens: [String] = []
    var tokenLogprobs: [Double] = []
    var topLogprobs: [[String: Double]] = []
    var textOffset: [Int] = []

    enum CodingKeys: String, CodingKey {
        case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset"
    }

    init(_ entries: [TokenLogprob]) {
        for e in entries {
            tokens.append(e.token)
            tokenLogprobs.append(finiteLogprob(e.logprob))
            topLogprobs.append(Dictionary(e.top.map { ($0.token, finiteLogprob($0.logprob)) }, uniquingKeysWith: { a, _ in a }))
            textOffset.append(e.textOffset)
        }
    }
}

/// Chat logprobs: `{content: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}], refusal: null}`.
struct ChatLogprobs: Encodable, Sendable {
    struct Alternative: Encodable, Sendable {
        var token: String
        var logprob: Double
        var bytes: [UInt8]
    }
    struct Entry: Encodable, Sendable {
        var token: String
        var logprob: Double
        var bytes: [UInt8]
        var topLogprobs: [Alternative]
        enum CodingKeys: String, CodingKey { case token, logprob, bytes, topLogprobs = "top_logprobs" }
    }
    var content: [Entry]
    enum CodingKeys: String, CodingKey { case content, refusal }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(content, forKey: .content)
        try c.encodeNil(forKey: .refusal)
    }

    init(_ entries: [TokenLogprob]) {
        content = entries.map { e in
            Entry(token: e.token, logprob: finiteLogprob(e.logprob), bytes: Array(e.token.utf8),
                  topLogprobs: e.top.map { Alternative(token: $0.token, logprob: finiteLogprob($0.logprob), bytes: Array($0.token.utf8)) })
        }
    }
}
