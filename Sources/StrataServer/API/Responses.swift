// Response bodies in OpenAI's shapes. Fields OpenAI sends as explicit `null` are encoded with
// `encode` (not `encodeIfPresent`), so strict clients find every key they expect.

/// `usage` of a response or the last stream chunk.
struct Usage: Encodable, Sendable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int { promptTokens + completionTokens }

    enum CodingKeys: String, CodingKey { case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens" }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(promptTokens, forKey: .promptTokens)
        try c.encode(completionTokens, forKey: .completionTokens)
        try c.encode(totalTokens, forKey: .totalTokens)
    }
}

/// The fields every response and chunk opens with.
struct ResponseHeader: Sendable {
    var id: String
    var object: String
    var created: Int
    var model: String
    var systemFingerprint: String
}

/// `POST /v1/completions` answer or stream chunk (`object` tells which).
struct CompletionBody: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var text: String
        var logprobs: LegacyLogprobs?
        var finishReason: String?
        enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason" }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(0, forKey: .index)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }
    var header: ResponseHeader
    var choices: [Choice]
    var usage: Usage?
    /// Whether `usage` is written (as null when absent): final answers and streams with include_usage.
    var writesUsage: Bool

    enum CodingKeys: String, CodingKey { case id, object, created, model, systemFingerprint = "system_fingerprint", choices, usage }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try header.encode(into: &c)
        try c.encode(choices, forKey: .choices)
        if writesUsage { try c.encode(usage, forKey: .usage) }
    }
}

/// `POST /v1/chat/completions` answer or stream chunk.
struct ChatBody: Encodable, Sendable {
    /// `message` of an answer or `delta` of a chunk.
    struct Message: Encodable, Sendable {
        var role: String?
        var content: String?
        var reasoningContent: String?
        /// Answers always carry `content` (null when empty of text); deltas only what changed.
        var isDelta: Bool
        init(role: String? = nil, content: String? = nil, reasoningContent: String? = nil, isDelta: Bool) {
            self.role = role; self.content = content; self.reasoningContent = reasoningContent; self.isDelta = isDelta
        }
        enum CodingKeys: String, CodingKey { case role, content, reasoningContent = "reasoning_content" }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(role, forKey: .role)
            if isDelta { try c.encodeIfPresent(content, forKey: .content) } else { try c.encode(content, forKey: .content) }
            try c.encodeIfPresent(reasoningContent, forKey: .reasoningContent)
        }
    }
    struct Choice: Encodable, Sendable {
        var message: Message
        var logprobs: ChatLogprobs?
        var finishReason: String?
        enum CodingKeys: String, CodingKey { case index, message, delta, logprobs, finishReason = "finish_reason" }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(0, forKey: .index)
            try c.encode(message, forKey: message.isDelta ? .delta : .message)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }
    var header: ResponseHeader
    var choices: [Choice]
    var usage: Usage?
    var writesUsage: Bool

    enum CodingKeys: String, CodingKey { case id, object, created, model, systemFingerprint = "system_fingerprint", choices, usage }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try header.encode(into: &c)
        try c.encode(choices, forKey: .choices)
        if writesUsage { try c.encode(usage, forKey: .usage) }
    }
}

extension ResponseHeader {
    func encode<K: CodingKey>(into c: inout KeyedEncodingContainer<K>) throws {
        try c.encode(id, forKey: K(stringValue: "id")!)
        try c.encode(object, forKey: K(stringValue: "object")!)
        try c.encode(created, forKey: K(stringValue: "created")!)
        try c.encode(model, forKey: K(stringValue: "model")!)
        try c.encode(systemFingerprint, forKey: K(stringValue: "system_fingerprint")!)
    }
}

/// `/v1/models` entry.
struct ModelCard: Encodable, Sendable {
    var id: String
    var object = "model"
    var created: Int
    var ownedBy = "strata"
    enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by" }
}

/// `/v1/models` answer.
struct ModelList: Encodable, Sendable {
    var object = "list"
    var data: [ModelCard]
}
