import Foundation
import Hummingbird
import HummingbirdTesting
import StrataServer
import Testing

/// Bad requests get OpenAI's error JSON and the right status, and the server keeps serving.
@Suite(.enabled(if: ServerFixture.available))
struct ServerErrorTests {
    let model = ServerFixture.modelName

    /// Checks status, the error object's shape, and optionally its param/code/message.
    func expectError(_ r: TestResponse, _ status: HTTPResponse.Status, param: String? = nil, code: String? = nil,
                     message: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, sourceLocation: sourceLocation)
        #expect(r.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        let e = JSONBody.error(r.body)
        #expect(Set(e.keys) == ["message", "type", "param", "code"], sourceLocation: sourceLocation)
        #expect((e["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        if let param { #expect(e["param"] as? String == param, "\(e)", sourceLocation: sourceLocation) }
        if let code { #expect(e["code"] as? String == code, "\(e)", sourceLocation: sourceLocation) }
        if let message { #expect((e["message"] as? String)?.contains(message) == true, "\(e)", sourceLocation: sourceLocation) }
    }

    @Test func malformedAndMistypedRequestsAre400AndTheServerKeepsServing() async throws {
        let (server, _) = try ServerFixture.server(replaying: "fine")
        try await server.makeApplication().test(.router) { client in
            expectError(try await client.postRaw("/v1/completions", "{\"model\": \"x\", \"prompt\": "), .badRequest,
                        code: "invalid_json", message: "could not parse the JSON body")
            expectError(try await client.postRaw("/v1/chat/completions", "[1, 2]"), .badRequest, code: "invalid_json")
            expectError(try await client.postRaw("/v1/chat/completions", ""), .badRequest, code: "invalid_json")
            expectError(try await client.post("/v1/completions", ["model": model, "prompt": "x", "temperature": "hot"]),
                        .badRequest, param: "temperature", message: "expected a number")
            expectError(try await client.post("/v1/completions", ["model": model, "prompt": "x", "max_tokens": "ten"]),
                        .badRequest, param: "max_tokens")
            expectError(try await client.post("/v1/completions", ["model": model, "prompt": 7]), .badRequest, param: "prompt")
            expectError(try await client.post("/v1/completions", ["model": model]), .badRequest, param: "prompt",
                        code: "missing_required_parameter")
            expectError(try await client.post("/v1/completions", ["prompt": "x"]), .badRequest, param: "model")
            expectError(try await client.post("/v1/chat/completions", ["model": model, "messages": "hi"]), .badRequest, param: "messages")
            expectError(try await client.post("/v1/chat/completions", ["model": model, "messages": [["role": "user", "content": 5]]]),
                        .badRequest, param: "messages[0].content")
            expectError(try await client.post("/v1/chat/completions", ["model": model, "messages": [["role": "wizard", "content": "x"]]]),
                        .badRequest, param: "messages[0].role")
            expectError(try await client.post("/v1/chat/completions", ["model": model, "messages": [] as [Any]]), .badRequest, param: "messages")
            expectError(try await client.post("/v1/chat/completions", ["model": model, "messages": [["role": "user", "content": "x"]], "stream": "yes"]),
                        .badRequest, param: "stream")
            // The server still answers a good request.
            let ok = try await client.post("/v1/completions", ["model": model, "prompt": "x"])
            #expect(ok.status == .ok)
        }
    }

    @Test func outOfRangeValuesName400Params() async throws {
        let (server, _) = try ServerFixture.server(replaying: "fine")
        let cases: [(String, Any, String)] = [
            ("temperature", 2.5, "temperature"), ("temperature", -0.1, "temperature"), ("top_p", 1.5, "top_p"),
            ("presence_penalty", 3, "presence_penalty"), ("frequency_penalty", -2.5, "frequency_penalty"),
            ("max_tokens", 0, "max_tokens"), ("n", 2, "n"), ("logprobs", 6, "logprobs"),
            ("stop", ["a", "b", "c", "d", "e"], "stop"), ("stop", 5, "stop"), ("prompt", ["a", "b"], "prompt"),
            ("echo", true, "echo"),
        ]
        try await server.makeApplication().test(.router) { client in
            for (key, value, param) in cases {
                var body: [String: Any] = ["model": model, "prompt": "x"]
                body[key] = value
                expectError(try await client.post("/v1/completions", body), .badRequest, param: param)
            }
            expectError(try await client.post("/v1/chat/completions", [
                "model": model, "messages": [["role": "user", "content": "x"]], "top_logprobs": 21, "logprobs": true,
            ]), .badRequest, param: "top_logprobs")
            expectError(try await client.post("/v1/chat/completions", [
                "model": model, "messages": [["role": "user", "content": "x"]], "top_logprobs": 2,
            ]), .badRequest, param: "top_logprobs")
            #expect(try await client.post("/v1/completions", ["model": model, "prompt": "x"]).status == .ok)
        }
    }

    @Test func unknownModelIs404() async throws {
        let (server, _) = try ServerFixture.server(replaying: "fine")
        try await server.makeApplication().test(.router) { client in
            expectError(try await client.post("/v1/chat/completions", ["model": "gpt-4", "messages": [["role": "user", "content": "x"]]]),
                        .notFound, param: "model", code: "model_not_found", message: "gpt-4")
            expectError(try await client.execute(uri: "/v1/nothing", method: .get), .notFound, message: "Invalid URL")
        }
    }

    @Test func promptOverTheContextIs400ContextLengthExceeded() async throws {
        let (server, engine) = try ServerFixture.server(replaying: "fine", contextLength: 16)
        let long = String(repeating: "word ", count: 40)
        try await server.makeApplication().test(.router) { client in
            expectError(try await client.post("/v1/completions", ["model": model, "prompt": long]), .badRequest,
                        code: "context_length_exceeded", message: "maximum context length is 16 tokens")
            expectError(try await client.post("/v1/completions", ["model": model, "prompt": "hi", "max_tokens": 100]), .badRequest,
                        param: "max_tokens", code: "context_length_exceeded")
            expectError(try await client.post("/v1/chat/completions", ["model": model, "messages": [["role": "user", "content": long]]]),
                        .badRequest, param: "messages", code: "context_length_exceeded")
        }
        #expect(engine.requests.isEmpty)
    }

    @Test func engineRefusalsMapTo429And503() async throws {
        let (busy, _) = try ServerFixture.server(replaying: "x", refusal: .queueFull(retryAfterSeconds: 3))
        try await busy.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/completions", ["model": model, "prompt": "x"])
            expectError(r, .tooManyRequests, code: "rate_limit_exceeded")
            #expect(r.headers[.retryAfter] == "3")
        }
        let (down, _) = try ServerFixture.server(replaying: "x", refusal: .unavailable("worker-1 lost"))
        try await down.makeApplication().test(.router) { client in
            expectError(try await client.post("/v1/completions", ["model": model, "prompt": "x"]), .serviceUnavailable,
                        message: "worker-1 lost")
        }
    }

    @Test func oversizedBodyIs413() async throws {
        let (server, _) = try ServerFixture.server(replaying: "x", maxRequestBytes: 4096)
        try await server.makeApplication().test(.router) { client in
            let big = String(repeating: "a", count: 10_000)
            expectError(try await client.post("/v1/completions", ["model": model, "prompt": big]), .contentTooLarge,
                        code: "request_too_large")
            #expect(try await client.post("/v1/completions", ["model": model, "prompt": "x"]).status == .ok)
        }
    }

    @Test func bearerKeysGuardTheAPIButNotHealth() async throws {
        let (server, _) = try ServerFixture.server(replaying: "x", apiKeys: ["sk-one", "sk-two"])
        try await server.makeApplication().test(.router) { client in
            expectError(try await client.execute(uri: "/v1/models", method: .get), .unauthorized, code: "invalid_api_key")
            expectError(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sk-three"]),
                        .unauthorized, code: "invalid_api_key", message: "Incorrect API key")
            expectError(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sk-on"]),
                        .unauthorized)
            expectError(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Basic sk-one"]),
                        .unauthorized)
            #expect(try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sk-two"]).status == .ok)
            #expect(try await client.post("/v1/completions", ["model": model, "prompt": "x"],
                                          headers: [.authorization: "Bearer sk-one"]).status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }

    @Test func chatWithoutATemplateIs400() async throws {
        let (server, _) = try ServerFixture.server(replaying: "x", template: nil)
        try await server.makeApplication().test(.router) { client in
            expectError(try await client.post("/v1/chat/completions", ["model": model, "messages": [["role": "user", "content": "x"]]]),
                        .badRequest, param: "messages")
        }
    }
}
