import StrataTokenizer

/// The body of `POST /v1/chat/completions`.
struct ChatRequest: Decodable, Sendable {
    /// One message of the conversation.
    struct Message: Decodable, Sendable {
        var role: String
        /// Text content; parts of type `text` are joined. Nil when absent or null.
        var content: String?
        /// Other keys (`name`, `tool_calls`, `tool_call_id`, `reasoning_content`), for the template.
        var extra: [(String, JSONValue)]

        static let roles: Set = ["system", "developer", "user", "assistant", "tool"]

        struct Part: Decodable { var type: String; var text: String? }
        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: Swift.Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            role = try c.decode(String.self, forKey: AnyKey(stringValue: "role"))
            let path = RequestDecoding.paramName(decoder.codingPath)
            guard Self.roles.contains(role) else {
                throw APIError.invalidValue(path + ".role", "'\(role)' is not one of system, developer, user, assistant, tool.")
            }
            content = try Self.decodeContent(c, path: path + ".content")
            extra = []
            for key in c.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !["role", "content"].contains(key.stringValue) {
                let v = try c.decode(JSONValue.self, forKey: key)
                if v != .null { extra.append((key.stringValue, v)) }
            }
            if content == nil, role != "assistant" {
                throw APIError.invalidRequest("Missing required parameter: '\(path).content'.", param: path + ".content",
                                              code: "missing_required_parameter")
            }
        }

        static func decodeContent(_ c: KeyedDecodingContainer<AnyKey>, path: String) throws -> String? {
            let key = AnyKey(stringValue: "content")
            guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
            if let s = try? c.decode(String.self, forKey: key) { return s }
            guard let parts = try? c.decode([Part].self, forKey: key) else {
                throw APIError.invalidRequest("Invalid type for '\(path)': expected a string or an array of content parts.",
                                              param: path, code: "invalid_type")
            }
            var text = ""
            for (i, part) in parts.enumerated() {
                guard part.type == "text", let t = part.text else {
                    throw APIError.unsupported("\(path)[\(i)]", "Content parts of type '\(part.type)' are not supported by this server; only 'text'.")
                }
                text += t
            }
            return text
        }

        /// The message as the chat template sees it.
        var chatMessage: ChatMessage {
            ChatMessage(role: role == "developer" ? "system" : role, content: content.map { Value.string($0) } ?? Value.none,
                        extra: extra.map { ($0.0, $0.1.templateValue) })
        }
    }

    var options: GenerationOptions
    var messages: [Message]
    var logprobs: Bool
    var topLogprobs: Int?
    /// Tool definitions, passed to the template.
    var tools: JSONValue?

    enum CodingKeys: String, CodingKey {
        case messages, logprobs, tools
        case topLogprobs = "top_logprobs"
    }

    init(from decoder: Swift.Decoder) throws {
        options = try GenerationOptions(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messages = try c.decode([Message].self, forKey: .messages)
        logprobs = try c.decodeIfPresent(Bool.self, forKey: .logprobs) ?? false
        topLogprobs = try c.decodeIfPresent(Int.self, forKey: .topLogprobs)
        tools = try c.decodeIfPresent(JSONValue.self, forKey: .tools)
    }

    func validate() throws(APIError) {
        try options.validate()
        guard !messages.isEmpty else { throw .invalidValue("messages", "at least one message is required.") }
        if let k = topLogprobs {
            guard (0...20).contains(k) else { throw .invalidValue("top_logprobs", "\(k) is outside [0, 20].") }
            guard logprobs || k == 0 else { throw .invalidValue("top_logprobs", "requires 'logprobs' to be true.") }
        }
    }
}
