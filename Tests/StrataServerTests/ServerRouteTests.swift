import Foundation
import Hummingbird
import HummingbirdTesting
import StrataServer
import Testing

/// Routes and response shapes over a scripted engine (the tokens are fixed; the HTTP layer is real).
@Suite(.enabled(if: ServerFixture.available))
struct ServerRouteTests {
    let model = ServerFixture.modelName

    @Test func listsTheModel() async throws {
        let (server, _) = try ServerFixture.server(replaying: "hi")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.execute(uri: "/v1/models", method: .get)
            #expect(r.status == .ok)
            let body = JSONBody.object(r.body)
            #expect(body["object"] as? String == "list")
            let data = body["data"] as? [[String: Any]] ?? []
            #expect(data.count == 1)
            #expect(data.first?["id"] as? String == model)
            #expect(data.first?["object"] as? String == "model")
        }
    }

    @Test func completionReturnsTextUsageAndIDs() async throws {
        let (server, engine) = try ServerFixture.server(replaying: " Paris is the capital.")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/completions", ["model": model, "prompt": "The capital of France is"])
            #expect(r.status == .ok)
            let body = JSONBody.object(r.body)
            #expect((body["id"] as? String)?.hasPrefix("cmpl-") == true)
            #expect(body["object"] as? String == "text_completion")
            #expect(body["model"] as? String == model)
            #expect(body["created"] as? Int != nil)
            #expect(body["system_fingerprint"] as? String == "fp_strata")
            let choice = (body["choices"] as? [[String: Any]])?.first ?? [:]
            #expect(choice["text"] as? String == " Paris is the capital.")
            #expect(choice["finish_reason"] as? String == "stop")
            #expect(choice["index"] as? Int == 0)
            #expect(choice.keys.contains("logprobs"))
            let usage = body["usage"] as? [String: Int] ?? [:]
            let prompt = ServerFixture.tokenizer.encode("The capital of France is", addSpecialTokens: true).count
            #expect(usage["prompt_tokens"] == prompt)
            #expect(usage["completion_tokens"] == ServerFixture.tokenizer.encode(" Paris is the capital.", addSpecialTokens: false).count)
            #expect(engine.requests.count == 1)
            #expect(usage["total_tokens"] == (usage["prompt_tokens"] ?? 0) + (usage["completion_tokens"] ?? 0))
        }
    }

    @Test func mapsParametersWithOpenAIDefaults() async throws {
        let (server, engine) = try ServerFixture.server(replaying: "x", contextLength: 100)
        try await server.makeApplication().test(.router) { client in
            _ = try await client.post("/v1/completions", ["model": model, "prompt": [1, 2, 3]])
            _ = try await client.post("/v1/completions", [
                "model": model, "prompt": ["hello"], "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "seed": 42,
                "presence_penalty": 0.5, "frequency_penalty": -1,
            ])
            _ = try await client.post("/v1/chat/completions", [
                "model": model, "messages": [["role": "user", "content": "hi"]], "max_completion_tokens": 5, "max_tokens": 9,
            ])
        }
        let reqs = engine.requests
        try #require(reqs.count == 3)
        #expect(reqs[0].prompt == [1, 2, 3])
        #expect(reqs[0].maxTokens == 97)  // context - prompt
        #expect(reqs[0].sampling.temperature == 1)
        #expect(reqs[0].sampling.topP == 1)
        #expect(reqs[0].stopTokens == [ServerFixture.tokenizer.eosTokenID!])
        #expect(reqs[1].maxTokens == 7)
        #expect(reqs[1].sampling == .init(temperature: 0.5, topP: 0.9, presencePenalty: 0.5, frequencyPenalty: -1, seed: 42))
        #expect(reqs[2].maxTokens == 5)
    }

    @Test func chatRendersTheTemplateAndAnswers() async throws {
        let (server, engine) = try ServerFixture.server(replaying: "Hello! How can I help?")
        try await server.makeApplication().test(.router) { client in
            let messages: [[String: Any]] = [
                ["role": "system", "content": "Be brief."],
                ["role": "user", "content": [["type": "text", "text": "Hi "], ["type": "text", "text": "there"]]],
            ]
            let r = try await client.post("/v1/chat/completions", ["model": model, "messages": messages, "temperature": 0])
            #expect(r.status == .ok)
            let body = JSONBody.object(r.body)
            #expect((body["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(body["object"] as? String == "chat.completion")
            let choice = (body["choices"] as? [[String: Any]])?.first ?? [:]
            let message = choice["message"] as? [String: Any] ?? [:]
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == "Hello! How can I help?")
            #expect(message["reasoning_content"] == nil)
            #expect(choice["finish_reason"] as? String == "stop")
        }
        let expected = try ServerFixture.template.render(
            messages: [.init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi there")], addGenerationPrompt: true)
        #expect(engine.requests.first?.prompt == ServerFixture.tokenizer.encode(expected, addSpecialTokens: false))
        #expect(engine.requests.first?.sampling.temperature == 0)
    }

    @Test func maxTokensEndsWithLength() async throws {
        let (server, _) = try ServerFixture.server(replaying: "one two three four five six")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/completions", ["model": model, "prompt": "Count:", "max_tokens": 2])
            let choice = (JSONBody.object(r.body)["choices"] as? [[String: Any]])?.first ?? [:]
            #expect(choice["finish_reason"] as? String == "length")
            #expect(choice["text"] as? String == ServerFixture.tokenizer.decode(Array(ServerFixture.tokenizer.encode("one two three four five six", addSpecialTokens: false).prefix(2))))
            #expect((JSONBody.object(r.body)["usage"] as? [String: Int])?["completion_tokens"] == 2)
        }
    }

    @Test func stopStringTruncatesAndCancelsTheEngine() async throws {
        let (server, engine) = try ServerFixture.server(replaying: "First line.\nUser: second line that never ends")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/completions", ["model": model, "prompt": "x", "stop": ["\nUser:", "zzz"]])
            let choice = (JSONBody.object(r.body)["choices"] as? [[String: Any]])?.first ?? [:]
            #expect(choice["text"] as? String == "First line.")
            #expect(choice["finish_reason"] as? String == "stop")
            let single = try await client.post("/v1/chat/completions",
                                               ["model": model, "messages": [["role": "user", "content": "x"]], "stop": "line"])
            let message = ((JSONBody.object(single.body)["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]) ?? [:]
            #expect(message["content"] as? String == "First ")
        }
        #expect(engine.cancellations == 2)
    }

    @Test func completionLogprobsUseTheLegacyShape() async throws {
        let (server, _) = try ServerFixture.server(replaying: "Hello world, again")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/completions", ["model": model, "prompt": "x", "logprobs": 2, "stop": ", again"])
            let choice = (JSONBody.object(r.body)["choices"] as? [[String: Any]])?.first ?? [:]
            #expect(choice["text"] as? String == "Hello world")
            let lp = choice["logprobs"] as? [String: Any] ?? [:]
            let tokens = lp["tokens"] as? [String] ?? []
            #expect(tokens.joined() == "Hello world")
            #expect((lp["token_logprobs"] as? [Double])?.count == tokens.count)
            let top = lp["top_logprobs"] as? [[String: Double]] ?? []
            #expect(top.count == tokens.count)
            #expect(top.allSatisfy { $0.count <= 2 && !$0.isEmpty })
            let offsets = lp["text_offset"] as? [Int] ?? []
            #expect(offsets.first == 0)
            #expect(offsets.count == tokens.count)
            for i in offsets.indices { #expect(offsets[i] == tokens[..<i].joined().unicodeScalars.count) }
        }
    }

    @Test func chatLogprobsUseTheContentShape() async throws {
        let (server, engine) = try ServerFixture.server(replaying: "Yes indeed")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/chat/completions", [
                "model": model, "messages": [["role": "user", "content": "ok?"]], "logprobs": true, "top_logprobs": 3,
            ])
            let choice = (JSONBody.object(r.body)["choices"] as? [[String: Any]])?.first ?? [:]
            let lp = choice["logprobs"] as? [String: Any] ?? [:]
            #expect(lp.keys.contains("refusal"))
            let content = lp["content"] as? [[String: Any]] ?? []
            #expect(content.map { $0["token"] as? String ?? "" }.joined() == "Yes indeed")
            for entry in content {
                #expect(entry["logprob"] as? Double != nil)
                #expect((entry["bytes"] as? [Int]).map { $0.map(UInt8.init) } == Array((entry["token"] as? String ?? "").utf8))
                let top = entry["top_logprobs"] as? [[String: Any]] ?? []
                #expect(top.count == 3)
                #expect(top.allSatisfy { $0["token"] is String && $0["logprob"] is Double && $0["bytes"] is [Int] })
            }
            let without = try await client.post("/v1/chat/completions", ["model": model, "messages": [["role": "user", "content": "ok?"]]])
            let plain = (JSONBody.object(without.body)["choices"] as? [[String: Any]])?.first ?? [:]
            #expect(plain["logprobs"] is NSNull)
        }
        #expect(engine.requests.first?.topLogprobs == 3)
    }

    @Test func reasoningGoesToReasoningContent() async throws {
        let (server, _) = try ServerFixture.server(replaying: "<think>\nTwo plus two.\n</think>\n\nFour.")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/chat/completions", ["model": model, "messages": [["role": "user", "content": "2+2?"]]])
            let message = ((JSONBody.object(r.body)["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]) ?? [:]
            #expect(message["reasoning_content"] as? String == "Two plus two.\n")
            #expect(message["content"] as? String == "Four.")
        }
    }

    @Test func healthReportsWorkersAndQueue() async throws {
        let (server, _) = try ServerFixture.server(replaying: "x", apiKeys: ["secret"])
        try await server.makeApplication().test(.router) { client in
            let r = try await client.execute(uri: "/health", method: .get)
            #expect(r.status == .ok)
            let body = JSONBody.object(r.body)
            #expect(body["status"] as? String == "ok")
            #expect(body["queue_depth"] as? Int == 3)
            #expect((body["workers"] as? [[String: Any]])?.first?["layer_range"] as? String == "[0,30)")
        }
    }

    @Test func metricsCountRequestsAndTokens() async throws {
        let (server, _) = try ServerFixture.server(replaying: "a b c")
        try await server.makeApplication().test(.router) { client in
            _ = try await client.post("/v1/completions", ["model": model, "prompt": "x"])
            _ = try await client.post("/v1/completions", ["model": "nope", "prompt": "x"])
            let r = try await client.execute(uri: "/metrics", method: .get)
            #expect(r.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            let text = String(buffer: r.body)
            #expect(text.contains("strata_requests_total{endpoint=\"/v1/completions\",status=\"200\"} 1\n"))
            #expect(text.contains("strata_requests_total{endpoint=\"/v1/completions\",status=\"404\"} 1\n"))
            #expect(text.contains("strata_generation_tokens_total 3\n"))
            #expect(text.contains("strata_time_to_first_token_seconds_count 1\n"))
            #expect(text.contains("strata_inter_token_latency_seconds_count 2\n"))
            #expect(text.contains("strata_request_duration_seconds_count 1\n"))
            #expect(text.contains("strata_queue_depth 3\n"))
        }
    }
}
