import Foundation
import Hummingbird
import Logging

/// Answers every failure below it in OpenAI's error JSON: `APIError`s as they are, Hummingbird's
/// HTTP errors (unknown route, body too large) by status, anything else as a logged 500.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxRequestBytes: Int
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPResponseError {
            return try translate(error, request).response(from: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return try APIError.internalError("The server had an error while processing your request.").response(from: request, context: context)
        }
    }

    func translate(_ error: HTTPResponseError, _ request: Request) -> APIError {
        switch error.status.code {
        case 404, 405:
            return APIError(statusCode: error.status.code, message: "Invalid URL (\(request.method) \(request.uri.path))",
                            type: "invalid_request_error")
        case 413: return .tooLarge(limit: maxRequestBytes)
        case 400..<500:
            return APIError(statusCode: error.status.code, message: "\(error.status.reasonPhrase)", type: "invalid_request_error")
        default:
            return APIError(statusCode: error.status.code, message: "\(error.status.reasonPhrase)", type: "server_error")
        }
    }
}

/// Requires `Authorization: Bearer KEY` on `/v1/` routes when keys are configured; compares in
/// time independent of where the key differs.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]

    init(keys: [String]) { self.keys = keys.map { Array($0.utf8) } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty, request.uri.path.hasPrefix("/v1/") else { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.count > 7,
              header.prefix(7).lowercased() == "bearer " else {
            throw APIError.unauthorized(missing: true)
        }
        let given = Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
        // Check every key, without an early exit, so timing reveals nothing about which matched.
        var ok = false
        for key in keys { ok = Self.constantTimeEqual(given, key) || ok }
        guard ok else { throw APIError.unauthorized(missing: false) }
        return try await next(request, context)
    }

    /// Equal bytes, in time that depends only on the lengths.
    static func constantTimeEqual(_ given: [UInt8], _ key: [UInt8]) -> Bool {
        var diff = UInt(bitPattern: given.count ^ key.count)
        for i in 0..<key.count {
            diff |= UInt(key[i] ^ (i < given.count ? given[i] : 0))
        }
        return diff == 0
    }
}

/// Counts answered requests by endpoint and status (`strata_requests_total`).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    static var endpoints: Set<String> { ["/v1/models", "/v1/completions", "/v1/chat/completions", "/health", "/metrics"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let endpoint = Self.endpoints.contains(path) ? path : "other"
        do {
            let response = try await next(request, context)
            metrics.recordRequest(endpoint: endpoint, status: response.status.code)
            return response
        } catch let error as HTTPResponseError {
            metrics.recordRequest(endpoint: endpoint, status: error.status.code)
            throw error
        } catch {
            metrics.recordRequest(endpoint: endpoint, status: 500)
            throw error
        }
    }
}
