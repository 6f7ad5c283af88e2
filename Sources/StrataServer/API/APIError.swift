import Foundation
import Hummingbird

/// An error answered in OpenAI's JSON shape, `{"error": {"message", "type", "param", "code"}}`,
/// with its HTTP status. Every failure the HTTP layer reports to a client is one of these.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status code.
    public var statusCode: Int
    /// Human-readable; names the parameter and the constraint where there is one.
    public var message: String
    /// OpenAI's error class (`invalid_request_error`, `server_error`, ...).
    public var type: String
    /// The request parameter at fault (`temperature`, `messages[1].content`), if any.
    public var param: String?
    /// A machine-readable code (`model_not_found`, `context_length_exceeded`, ...), if any.
    public var code: String?
    /// Seconds a client should wait before retrying (429/503: the `Retry-After` header).
    public var retryAfterSeconds: Int?

    public init(statusCode: Int, message: String, type: String, param: String? = nil, code: String? = nil,
                retryAfterSeconds: Int? = nil) {
        self.statusCode = statusCode; self.message = message; self.type = type
        self.param = param; self.code = code; self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(statusCode) \(type)\(code.map { " (\($0))" } ?? ""): \(message)" }

    /// 400: the request is malformed or a parameter is invalid.
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(statusCode: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// 400: a parameter has a valid type but a value outside its allowed set.
    public static func invalidValue(_ param: String, _ constraint: String) -> APIError {
        invalidRequest("Invalid value for '\(param)': \(constraint)", param: param, code: "invalid_value")
    }

    /// 400: a parameter or feature this server does not implement.
    public static func unsupported(_ param: String, _ message: String) -> APIError {
        invalidRequest(message, param: param, code: "unsupported_parameter")
    }

    /// 404: a model other than the one served.
    public static func modelNotFound(_ model: String) -> APIError {
        APIError(statusCode: 404, message: "The model `\(model)` does not exist or you do not have access to it.",
                 type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// 400: prompt plus requested tokens exceed the model's context.
    public static func contextLengthExceeded(limit: Int, promptTokens: Int, maxTokens: Int?, param: String) -> APIError {
        let asked = maxTokens.map { " However, you requested \(promptTokens + $0) tokens (\(promptTokens) in the prompt, \($0) for the completion)." }
            ?? " However, your prompt has \(promptTokens) tokens, leaving no room for a completion."
        return invalidRequest("This model's maximum context length is \(limit) tokens.\(asked) Please reduce the length of the prompt or of the completion.",
                              param: param, code: "context_length_exceeded")
    }

    /// 401: a missing or wrong bearer key.
    public static func unauthorized(missing: Bool) -> APIError {
        APIError(statusCode: 401,
                 message: missing ? "You didn't provide an API key. Send it in an Authorization header as 'Bearer YOUR_KEY'."
                                  : "Incorrect API key provided.",
                 type: "invalid_request_error", code: "invalid_api_key")
    }

    /// 429: the engine's queue is full.
    public static func overloaded(retryAfterSeconds: Int, message: String) -> APIError {
        APIError(statusCode: 429, message: message, type: "requests", code: "rate_limit_exceeded", retryAfterSeconds: retryAfterSeconds)
    }

    /// 503: the engine is shutting down or has failed.
    public static func unavailable(_ message: String) -> APIError {
        APIError(statusCode: 503, message: message, type: "server_error", code: "service_unavailable", retryAfterSeconds: 1)
    }

    /// 413: the request body exceeds the configured limit.
    public static func tooLarge(limit: Int) -> APIError {
        APIError(statusCode: 413, message: "The request body exceeds the limit of \(limit) bytes.",
                 type: "invalid_request_error", code: "request_too_large")
    }

    /// 500: an unexpected failure inside the server.
    public static func internalError(_ message: String) -> APIError {
        APIError(statusCode: 500, message: message, type: "server_error", code: "internal_error")
    }

    /// The JSON body clients see.
    public var jsonBody: Data {
        // Hand-written so `param` and `code` are explicit nulls, as OpenAI sends them.
        let payload: [String: Any] = ["error": [
            "message": message, "type": type,
            "param": param.map { $0 as Any } ?? NSNull(), "code": code.map { $0 as Any } ?? NSNull(),
        ] as [String: Any]]
        return (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])) ?? Data("{}".utf8)
    }
}

extension APIError: HTTPResponseError {
    public var status: HTTPResponse.Status { .init(code: statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: .init(code: statusCode), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody)))
    }
}
