import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import StrataModel
import StrataServer
import StrataTestSupport
import StrataTokenizer
import Testing

/// The HTTP layer over the real `Scheduler` and SmolLM2: answers equal `Generator`'s greedy
/// output, streaming equals non-streaming, stop strings and seeds behave.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct ServerEndToEndTests {
    static let name = "smollm2"

    struct Stack {
        let source: ModelSource
        let model: LocalModel
        let tokenizer: Tokenizer
        let template: ChatTemplate
        let stops: Set<Int>
    }

    static func stack() throws -> Stack {
        let source = try ModelSource(path: TestAssets.smolLM2)
        let model = try LocalModel(source: source, precision: .fp8, threads: 2)
        let tokenizer = try Tokenizer(gguf: source.gguf!)
        var stops = Set(source.config.eosTokenIDs)
        if let eos = tokenizer.eosTokenID { stops.insert(eos) }
        return Stack(source: source, model: model, tokenizer: tokenizer, template: try ChatTemplate.load(gguf: source.gguf!), stops: stops)
    }

    /// Greedy text of `prompt` from `Generator`, the one-process reference.
    static func reference(_ s: Stack, prompt: [Int], maxTokens: Int) throws -> String {
        var ids: [Int] = []
        try Generator(model: s.model, stopTokens: s.stops).generate(prompt: prompt, maxTokens: maxTokens, sampling: .greedy, session: 999) { ids.append($0) }
        return s.tokenizer.decode(ids, skipSpecialTokens: true)
    }

    @Test func completionsAndChatOverTheScheduler() async throws {
        let s = try Self.stack()
        let prompt = "The capital of France is"
        let expected = try Self.reference(s, prompt: s.tokenizer.encode(prompt, addSpecialTokens: true), maxTokens: 12)
        let scheduler = Scheduler(model: s.model, lanes: 1, maxBatch: 4, maxQueue: 16, logger: Logger(label: "test.scheduler"))
        defer { scheduler.shutdown() }
        let server = try OpenAIServer(configuration: ServerConfiguration(port: 0, modelName: Self.name, stopTokens: s.stops),
                                      engine: scheduler, tokenizer: s.tokenizer, chatTemplate: s.template)
        try await server.makeApplication().test(.router) { client in
            let r = try await client.post("/v1/completions", ["model": Self.name, "prompt": prompt, "max_tokens": 12, "temperature": 0])
            #expect(r.status == .ok)
            let choice = (JSONBody.object(r.body)["choices"] as? [[String: Any]])?.first ?? [:]
            #expect(choice["text"] as? String == expected)

            // Streaming chat equals the same greedy request unstreamed.
            let chat: [String: Any] = ["model": Self.name, "messages": [["role": "user", "content": "Name a color."]],
                                       "max_tokens": 16, "temperature": 0]
            let whole = try await client.post("/v1/chat/completions", chat)
            let content = ((JSONBody.object(whole.body)["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            var streamedRequest = chat
            streamedRequest["stream"] = true
            let streamed = try await client.post("/v1/chat/completions", streamedRequest)
            let (events, done) = JSONBody.events(String(buffer: streamed.body))
            #expect(done)
            let joined = events.compactMap { ($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any] }
                .compactMap { $0["content"] as? String }.joined()
            #expect(content != nil && joined == content)

            // A stop string cut from the greedy text.
            let words = expected.split(separator: " ")
            if words.count >= 3 {
                let stop = String(words[2])
                let cut = try await client.post("/v1/completions", ["model": Self.name, "prompt": prompt, "max_tokens": 12,
                                                                    "temperature": 0, "stop": stop])
                let c = (JSONBody.object(cut.body)["choices"] as? [[String: Any]])?.first ?? [:]
                #expect(c["text"] as? String == String(expected[..<expected.range(of: stop)!.lowerBound]))
                #expect(c["finish_reason"] as? String == "stop")
            }

            // Same seed, same text at temperature 0.8.
            let sampled: [String: Any] = ["model": Self.name, "prompt": "Once upon a time", "max_tokens": 16, "temperature": 0.8, "seed": 11]
            let a = try await client.post("/v1/completions", sampled), b = try await client.post("/v1/completions", sampled)
            let ta = (JSONBody.object(a.body)["choices"] as? [[String: Any]])?.first?["text"] as? String
            let tb = (JSONBody.object(b.body)["choices"] as? [[String: Any]])?.first?["text"] as? String
            #expect(ta != nil && ta == tb)
        }
    }

    /// The official `openai` client (ops/openai-client-test.py) against this stack on a real port.
    /// Runs when `STRATA_OPENAI_PYTHON` names a python that has the package (ops/test sets it).
    static var clientPython: String? { ProcessInfo.processInfo.environment["STRATA_OPENAI_PYTHON"] }

    @Test(.enabled(if: clientPython != nil, "STRATA_OPENAI_PYTHON not set (ops/test sets it)"))
    func officialOpenAIClientPasses() async throws {
        let s = try Self.stack()
        let scheduler = Scheduler(model: s.model, lanes: 1, maxBatch: 4, maxQueue: 16, logger: Logger(label: "test.scheduler"))
        defer { scheduler.shutdown() }
        let server = try OpenAIServer(configuration: ServerConfiguration(port: 0, modelName: Self.name, stopTokens: s.stops),
                                      engine: scheduler, tokenizer: s.tokenizer, chatTemplate: s.template)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.listeningPort()
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("ops/openai-client-test.py").path
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.clientPython!)
            p.arguments = [script, "--base-url", "http://127.0.0.1:\(port)/v1", "--model", Self.name]
            let out = Pipe()
            p.standardOutput = out; p.standardError = out
            try p.run()
            let text = await Task.detached { String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }.value
            p.waitUntilExit()
            #expect(p.terminationStatus == 0 && text.contains("all checks passed"), "\(text)")
            await server.shutdown()
            try await group.waitForAll()
        }
    }
}
