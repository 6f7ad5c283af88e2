/// The body of `POST /v1/completions`.
struct CompletionRequest: Decodable, Sendable {
    /// The prompt as text, or as token ids.
    enum Prompt: Sendable, Equatable {
        case text(String)
        case tokens([Int])
    }

    var options: GenerationOptions
    var prompt: Prompt
    /// Legacy `logprobs`: how many alternatives to report per token (0–5), nil for none.
    var logprobs: Int?

    enum CodingKeys: String, CodingKey { case prompt, logprobs, echo, suffix }

    init(from decoder: Decoder) throws {
        options = try GenerationOptions(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try Self.decodePrompt(c)
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        if try c.decodeIfPresent(Bool.self, forKey: .echo) == true {
            throw APIError.unsupported("echo", "echo is not supported by this server.")
        }
        if let suffix = try c.decodeIfPresent(String.self, forKey: .suffix), !suffix.isEmpty {
            throw APIError.unsupported("suffix", "suffix is not supported by this server.")
        }
    }

    /// A string, an array of one string, an array of token ids, or an array of one id array.
    static func decodePrompt(_ c: KeyedDecodingContainer<CodingKeys>) throws -> Prompt {
        guard c.contains(.prompt) else { throw APIError.invalidRequest("Missing required parameter: 'prompt'.", param: "prompt", code: "missing_required_parameter") }
        if let s = try? c.decode(String.self, forKey: .prompt) { return .text(s) }
        if let ids = try? c.decode([Int].self, forKey: .prompt) { return .tokens(ids) }
        func one<T>(_ list: [T]) throws -> T {
            guard list.count == 1 else {
                throw APIError.unsupported("prompt", "Only one prompt per request is supported by this server; got \(list.count).")
            }
            return list[0]
        }
        if let list = try? c.decode([String].self, forKey: .prompt) { return .text(try one(list)) }
        if let lists = try? c.decode([[Int]].self, forKey: .prompt) { return .tokens(try one(lists)) }
        throw APIError.invalidRequest("Invalid type for 'prompt': expected a string, an array of strings, or an array of token ids.",
                                      param: "prompt", code: "invalid_type")
    }

    func validate() throws(APIError) {
        try options.validate()
        if let l = logprobs, !(0...5).contains(l) { throw .invalidValue("logprobs", "\(l) is outside [0, 5].") }
    }
}
