import Foundation
import Hummingbird
import HummingbirdTesting
import StrataServer
import StrataTestSupport
import StrataTokenizer

/// SmolLM2's tokenizer and chat template (loaded once), and servers over a `ScriptedEngine`.
enum ServerFixture {
    static let available = TestAssets.available(TestAssets.smolLM2)
    static let tokenizer: Tokenizer = try! Tokenizer.load(path: TestAssets.smolLM2)
    static let template: ChatTemplate = try! ChatTemplate.load(modelPath: TestAssets.smolLM2)
    static let modelName = "smollm2-test"

    /// A server replaying `text` (tokenized) for every request.
    static func server(replaying text: String, contextLength: Int = 2048, delay: Duration? = nil, refusal: EngineError? = nil,
                       apiKeys: [String] = [], template: ChatTemplate? = ServerFixture.template,
                       maxRequestBytes: Int = 4 << 20) throws -> (OpenAIServer, ScriptedEngine) {
        let engine = ScriptedEngine(script: tokenizer.encode(text, addSpecialTokens: false), contextLength: contextLength,
                                    delay: delay, refusal: refusal)
        let server = try OpenAIServer(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, modelName: modelName, apiKeys: apiKeys,
                                               maxRequestBytes: maxRequestBytes),
            engine: engine, tokenizer: tokenizer, chatTemplate: template,
            workerHealth: { [WorkerHealth(name: "worker-0", layerRange: "[0,30)", healthy: true)] })
        return (server, engine)
    }
}

/// JSON helpers for test bodies and answers.
enum JSONBody {
    static func buffer(_ object: Any) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
    }

    static func object(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
    }

    /// The `error` object of an OpenAI error answer.
    static func error(_ buffer: ByteBuffer) -> [String: Any] {
        object(buffer)["error"] as? [String: Any] ?? [:]
    }

    /// The JSON objects of the `data:` events of an SSE body, and whether it ended with `[DONE]`.
    static func events(_ text: String) -> (events: [[String: Any]], done: Bool) {
        var events: [[String: Any]] = [], done = false
        for block in text.components(separatedBy: "\n\n") where !block.isEmpty {
            guard block.hasPrefix("data: ") else { continue }
            let payload = String(block.dropFirst(6))
            if payload == "[DONE]" { done = true; continue }
            if let o = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] { events.append(o) }
        }
        return (events, done)
    }
}

extension TestClientProtocol {
    /// POSTs a JSON body.
    func post(_ uri: String, _ body: Any, headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = headers
        h[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: h, body: JSONBody.buffer(body))
    }

    /// POSTs raw bytes.
    func postRaw(_ uri: String, _ body: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }
}
