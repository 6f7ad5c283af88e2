import Foundation
import Hummingbird
import HummingbirdTesting
import StrataServer
import Testing

/// SSE framing and chunk shapes, and cancellation when the client goes away.
@Suite(.enabled(if: ServerFixture.available))
struct ServerStreamingTests {
    let model = ServerFixture.modelName

    @Test func chatStreamFramesChunksLikeOpenAI() async throws {
        let (server, _) = try ServerFixture.server(replaying: "Hello there, friend.")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/chat/completions", [
                "model": model, "messages": [["role": "user", "content": "hi"]], "stream": true,
                "stream_options": ["include_usage": true],
            ])
            #expect(r.status == .ok)
            #expect(r.headers[.contentType] == "text/event-stream")
            let text = String(buffer: r.body)
            #expect(text.hasPrefix("data: {"))
            #expect(text.hasSuffix("data: [DONE]\n\n"))
            let (events, done) = JSONBody.events(text)
            #expect(done)
            try #require(events.count >= 4)
            let ids = Set(events.compactMap { $0["id"] as? String })
            #expect(ids.count == 1 && ids.first!.hasPrefix("chatcmpl-"))
            #expect(events.allSatisfy { $0["object"] as? String == "chat.completion.chunk" && $0["model"] as? String == model })
            #expect(events.allSatisfy { $0.keys.contains("usage") })
            func choice(_ e: [String: Any]) -> [String: Any] { (e["choices"] as? [[String: Any]])?.first ?? [:] }
            let first = choice(events[0])["delta"] as? [String: Any] ?? [:]
            #expect(first["role"] as? String == "assistant")
            #expect(first["content"] as? String == "")
            let contentEvents = events.dropFirst().dropLast(2)
            #expect(contentEvents.allSatisfy { (choice($0)["delta"] as? [String: Any])?["role"] == nil })
            #expect(contentEvents.allSatisfy { choice($0)["finish_reason"] is NSNull })
            let joined = contentEvents.map { (choice($0)["delta"] as? [String: Any])?["content"] as? String ?? "" }.joined()
            #expect(joined == "Hello there, friend.")
            let last = choice(events[events.count - 2])
            #expect(last["finish_reason"] as? String == "stop")
            #expect((last["delta"] as? [String: Any])?.isEmpty == true)
            let usageChunk = events[events.count - 1]
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
            let usage = usageChunk["usage"] as? [String: Int] ?? [:]
            #expect(usage["completion_tokens"] == ServerFixture.tokenizer.encode("Hello there, friend.", addSpecialTokens: false).count)
            #expect(usage["total_tokens"] == (usage["prompt_tokens"] ?? 0) + (usage["completion_tokens"] ?? 0))
        }
    }

    @Test func completionStreamWithoutUsageOmitsIt() async throws {
        let (server, _) = try ServerFixture.server(replaying: "one two three")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/completions", ["model": model, "prompt": "x", "stream": true, "max_tokens": 2])
            let (events, done) = JSONBody.events(String(buffer: r.body))
            #expect(done)
            #expect(events.allSatisfy { $0["object"] as? String == "text_completion" && !$0.keys.contains("usage") })
            let choices = events.compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect(choices.map { $0["text"] as? String ?? "" }.joined() == "one two")
            #expect(choices.last?["finish_reason"] as? String == "length")
        }
    }

    @Test func streamedStopStringIsHeldBackAndCut() async throws {
        let (server, engine) = try ServerFixture.server(replaying: "alpha beta END gamma delta")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/completions", ["model": model, "prompt": "x", "stream": true, "stop": [" EN"]])
            let (events, _) = JSONBody.events(String(buffer: r.body))
            let choices = events.compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect(choices.map { $0["text"] as? String ?? "" }.joined() == "alpha beta")
            #expect(choices.last?["finish_reason"] as? String == "stop")
        }
        #expect(engine.cancellations == 1)
    }

    @Test func streamedReasoningUsesReasoningContentDeltas() async throws {
        let (server, _) = try ServerFixture.server(replaying: "<think>\nCheck the sum.\n</think>\n\nIt is 4.")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/chat/completions", ["model": model, "messages": [["role": "user", "content": "2+2"]], "stream": true])
            let (events, _) = JSONBody.events(String(buffer: r.body))
            let deltas = events.compactMap { ($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any] }
            #expect(deltas.compactMap { $0["reasoning_content"] as? String }.joined() == "Check the sum.\n")
            #expect(deltas.compactMap { $0["content"] as? String }.joined() == "It is 4.")
        }
    }

    @Test func streamedLogprobsRideOnTheChunks() async throws {
        let (server, _) = try ServerFixture.server(replaying: "Yes sir")
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/chat/completions", [
                "model": model, "messages": [["role": "user", "content": "ok"]], "stream": true, "logprobs": true, "top_logprobs": 1,
            ])
            let (events, _) = JSONBody.events(String(buffer: r.body))
            let entries = events.compactMap { ($0["choices"] as? [[String: Any]])?.first?["logprobs"] as? [String: Any] }
                .flatMap { $0["content"] as? [[String: Any]] ?? [] }
            #expect(entries.map { $0["token"] as? String ?? "" }.joined() == "Yes sir")
        }
    }

    @Test func clientDisconnectCancelsTheEngineStream() async throws {
        let (server, engine) = try ServerFixture.server(replaying: String(repeating: "tick ", count: 2000), delay: .milliseconds(20))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.listeningPort()
            let body = #"{"model": "\#(model)", "prompt": "x", "stream": true}"#
            let socket = try RawHTTPConnection(port: port)
            try socket.send("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            // Tokens arrive while the engine is still generating.
            let head = try await socket.received(until: "data: {")
            #expect(head.hasPrefix("HTTP/1.1 200"))
            #expect(engine.cancellations == 0)
            socket.close()
            var waited = 0
            while engine.cancellations == 0, waited < 100 {
                try await Task.sleep(for: .milliseconds(50)); waited += 1
            }
            #expect(engine.cancellations == 1)
            // And it keeps serving.
            let again = try RawHTTPConnection(port: port)
            try again.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try await again.received(until: "\"status\"").hasPrefix("HTTP/1.1 200"))
            again.close()
            await server.shutdown()
            try await group.waitForAll()
        }
    }

    /// A non-streaming request writes nothing until the end, so only the closed connection says
    /// the client left: its engine stream is cancelled (the scheduler then frees its sequence).
    @Test func nonStreamingClientDisconnectCancelsTheEngineStream() async throws {
        let (server, engine) = try ServerFixture.server(replaying: String(repeating: "tick ", count: 2000), delay: .milliseconds(20))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.listeningPort()
            let body = #"{"model": "\#(model)", "prompt": "x", "max_tokens": 1500}"#
            let socket = try RawHTTPConnection(port: port)
            try socket.send("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            var waited = 0
            while engine.requests.isEmpty, waited < 100 { try await Task.sleep(for: .milliseconds(50)); waited += 1 }
            #expect(engine.requests.count == 1 && engine.cancellations == 0)
            socket.close()
            waited = 0
            while engine.cancellations == 0, waited < 100 { try await Task.sleep(for: .milliseconds(50)); waited += 1 }
            #expect(engine.cancellations == 1, "the engine kept generating for a client that left")
            await server.shutdown()
            try await group.waitForAll()
        }
    }
}
