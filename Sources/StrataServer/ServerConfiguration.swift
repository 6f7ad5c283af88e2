/// How the OpenAI-compatible server listens and what it serves; validated once by `validate()`.
public struct ServerConfiguration: Sendable, Equatable {
    /// Address to bind (default loopback; "0.0.0.0" to serve other hosts).
    public var host: String
    /// TCP port; 0 picks a free one (read it back with `OpenAIServer.listeningPort()`).
    public var port: Int
    /// The model id shown by `/v1/models`; requests must name it.
    public var modelName: String
    /// Accepted bearer keys; empty means no authentication. `/health` and `/metrics` stay open.
    public var apiKeys: [String]
    /// Token ids that end a generation without being emitted; empty means the tokenizer's EOS.
    public var stopTokens: Set<Int>
    /// Largest request body accepted (413 beyond).
    public var maxRequestBytes: Int
    /// Split `<think>…</think>` into `reasoning_content` on chat responses.
    public var parseReasoning: Bool
    /// `system_fingerprint` reported with every response.
    public var systemFingerprint: String

    public init(host: String = "127.0.0.1", port: Int = 8000, modelName: String, apiKeys: [String] = [],
                stopTokens: Set<Int> = [], maxRequestBytes: Int = 4 << 20, parseReasoning: Bool = true,
                systemFingerprint: String = "fp_strata") {
        self.host = host; self.port = port; self.modelName = modelName; self.apiKeys = apiKeys
        self.stopTokens = stopTokens; self.maxRequestBytes = maxRequestBytes
        self.parseReasoning = parseReasoning; self.systemFingerprint = systemFingerprint
    }

    /// Throws naming the first invalid field.
    public func validate() throws(ServerError) {
        guard (0...65535).contains(port) else { throw .invalidConfiguration(key: "port", reason: "\(port) is outside 0...65535") }
        guard !host.isEmpty else { throw .invalidConfiguration(key: "host", reason: "must not be empty") }
        guard !modelName.isEmpty else { throw .invalidConfiguration(key: "modelName", reason: "must not be empty") }
        guard maxRequestBytes >= 1024 else {
            throw .invalidConfiguration(key: "maxRequestBytes", reason: "\(maxRequestBytes) is below the minimum of 1024")
        }
        if let i = apiKeys.firstIndex(where: { $0.isEmpty || $0.contains(where: \.isWhitespace) }) {
            throw .invalidConfiguration(key: "apiKeys[\(i)]", reason: "must be non-empty and contain no whitespace")
        }
    }
}

/// Errors of the server itself (not of a request: those are `APIError`s sent to the client).
public enum ServerError: Error, Equatable, CustomStringConvertible {
    /// A configuration field is invalid.
    case invalidConfiguration(key: String, reason: String)
    /// The tokenizer names no EOS and no stop tokens were configured.
    case noStopTokens
    /// `run()` was called on a server that is already running or has run.
    case alreadyStarted
    /// The server stopped before it bound its port.
    case notListening

    public var description: String {
        switch self {
        case let .invalidConfiguration(key, reason): return "server configuration: \(key) \(reason)"
        case .noStopTokens: return "the tokenizer names no EOS token and no stop tokens were configured"
        case .alreadyStarted: return "the server was already started"
        case .notListening: return "the server stopped before it was listening"
        }
    }
}
