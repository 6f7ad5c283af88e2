/// The request fields `/v1/completions` and `/v1/chat/completions` share, as sent (snake_case in
/// `CodingKeys`); ranges are checked by `validate()`, defaults applied by `GenerationPlan`.
struct GenerationOptions: Decodable, Sendable {
    var model: String
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var temperature: Double?
    var topP: Double?
    var seed: Int?
    var stop: [String]
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    var n: Int?
    var stream: Bool
    var includeUsage: Bool
    /// vLLM's extension: keep generating through EOS until max_tokens (benchmarks).
    var ignoreEOS: Bool

    enum CodingKeys: String, CodingKey {
        case model, temperature, seed, stop, n, stream
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topP = "top_p"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
        case streamOptions = "stream_options", logitBias = "logit_bias", bestOf = "best_of"
        case responseFormat = "response_format"
        case ignoreEOS = "ignore_eos"
    }

    struct StreamOptions: Decodable { var include_usage: Bool? }
    struct ResponseFormat: Decodable { var type: String }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        ignoreEOS = try c.decodeIfPresent(Bool.self, forKey: .ignoreEOS) ?? false
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        maxCompletionTokens = try c.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try c.decodeIfPresent(Double.self, forKey: .topP)
        seed = try c.decodeIfPresent(Int.self, forKey: .seed)
        stop = try Self.decodeStop(c)
        presencePenalty = try c.decodeIfPresent(Double.self, forKey: .presencePenalty)
        frequencyPenalty = try c.decodeIfPresent(Double.self, forKey: .frequencyPenalty)
        n = try c.decodeIfPresent(Int.self, forKey: .n)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream) ?? false
        includeUsage = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)?.include_usage ?? false
        if let bias = try c.decodeIfPresent([String: Double].self, forKey: .logitBias), !bias.isEmpty {
            throw APIError.unsupported("logit_bias", "logit_bias is not supported by this server.")
        }
        if let bestOf = try c.decodeIfPresent(Int.self, forKey: .bestOf), bestOf != 1 {
            throw APIError.unsupported("best_of", "Only best_of = 1 is supported by this server.")
        }
        if let format = try c.decodeIfPresent(ResponseFormat.self, forKey: .responseFormat), format.type != "text" {
            throw APIError.unsupported("response_format", "response_format '\(format.type)' is not supported by this server; only 'text'.")
        }
    }

    /// `stop`: null, a string, or an array of up to 4 strings.
    static func decodeStop(_ c: KeyedDecodingContainer<CodingKeys>) throws -> [String] {
        guard c.contains(.stop), try !c.decodeNil(forKey: .stop) else { return [] }
        if let s = try? c.decode(String.self, forKey: .stop) { return s.isEmpty ? [] : [s] }
        guard let list = try? c.decode([String].self, forKey: .stop) else {
            throw APIError.invalidRequest("Invalid type for 'stop': expected a string or an array of strings.", param: "stop", code: "invalid_type")
        }
        guard list.count <= 4 else { throw APIError.invalidValue("stop", "at most 4 stop sequences are allowed, got \(list.count).") }
        return list.filter { !$0.isEmpty }
    }

    /// Checks every range OpenAI documents; throws naming the first bad parameter.
    func validate() throws(APIError) {
        if let t = temperature, !(0...2).contains(t) { throw .invalidValue("temperature", "\(t) is outside [0, 2].") }
        if let p = topP, !(0...1).contains(p) { throw .invalidValue("top_p", "\(p) is outside [0, 1].") }
        if let p = presencePenalty, !(-2...2).contains(p) { throw .invalidValue("presence_penalty", "\(p) is outside [-2, 2].") }
        if let p = frequencyPenalty, !(-2...2).contains(p) { throw .invalidValue("frequency_penalty", "\(p) is outside [-2, 2].") }
        if let m = maxTokens, m < 1 { throw .invalidValue("max_tokens", "\(m) is less than the minimum of 1.") }
        if let m = maxCompletionTokens, m < 1 { throw .invalidValue("max_completion_tokens", "\(m) is less than the minimum of 1.") }
        if let n, n != 1 { throw .unsupported("n", "Only n = 1 is supported by this server; got \(n).") }
    }

    /// The completion budget asked for (`max_completion_tokens` wins over the older `max_tokens`).
    var requestedMaxTokens: (value: Int, param: String)? {
        if let m = maxCompletionTokens { return (m, "max_completion_tokens") }
        if let m = maxTokens { return (m, "max_tokens") }
        return nil
    }
}
