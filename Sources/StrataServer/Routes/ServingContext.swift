import Foundation
import Hummingbird
import Logging
import StrataModel
import StrataTokenizer

/// What the generation routes share: the engine, tokenizer, template, settings and metrics, and
/// the steps every generation request takes (read body, check model, plan, submit).
struct ServingContext: Sendable {
    let configuration: ServerConfiguration
    let engine: any TokenEngine
    let tokenizer: Tokenizer
    let chatTemplate: ChatTemplate?
    let stopTokens: Set<Int>
    let metrics: ServerMetrics
    let workerHealth: WorkerHealthProvider
    let logger: Logger

    /// The body, up to the configured limit (413 beyond).
    func readBody(_ request: Request) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxRequestBytes {
            throw APIError.tooLarge(limit: configuration.maxRequestBytes)
        }
        do {
            let buffer = try await request.body.collect(upTo: configuration.maxRequestBytes)
            return Data(buffer.readableBytesView)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.tooLarge(limit: configuration.maxRequestBytes)
        }
    }

    func checkModel(_ model: String) throws(APIError) {
        guard model == configuration.modelName else { throw .modelNotFound(model) }
    }

    /// The header fields of one response (shared by all chunks of a stream).
    func header(prefix: String, object: String) -> ResponseHeader {
        ResponseHeader(id: prefix + Self.randomID(), object: object, created: Int(Date().timeIntervalSince1970),
                       model: configuration.modelName, systemFingerprint: configuration.systemFingerprint)
    }

    /// The token request for `prompt` with OpenAI's defaults: temperature 1, top_p 1, max tokens
    /// = what the context leaves, a random seed when none is given.
    func tokenRequest(_ o: GenerationOptions, prompt: [Int], promptParam: String, topLogprobs: Int) throws(APIError) -> TokenRequest {
        guard !prompt.isEmpty else { throw .invalidValue(promptParam, "the prompt must not be empty.") }
        if let bad = prompt.first(where: { $0 < 0 || $0 >= tokenizer.vocabularySize }) {
            throw .invalidValue(promptParam, "token id \(bad) is outside the vocabulary [0, \(tokenizer.vocabularySize)).")
        }
        let limit = engine.contextLength
        let asked = o.requestedMaxTokens
        guard prompt.count < limit, prompt.count + (asked?.value ?? 0) <= limit else {
            throw .contextLengthExceeded(limit: limit, promptTokens: prompt.count, maxTokens: asked?.value, param: asked?.param ?? promptParam)
        }
        var sampling = SamplingParameters(temperature: Float(o.temperature ?? 1), topP: Float(o.topP ?? 1),
                                          presencePenalty: Float(o.presencePenalty ?? 0), frequencyPenalty: Float(o.frequencyPenalty ?? 0),
                                          seed: o.seed.map { UInt64(bitPattern: Int64($0)) } ?? UInt64.random(in: .min ... .max))
        if sampling.topP == 0 { sampling.topP = 1; sampling.temperature = 0 }  // only the top token survives: greedy
        do { try sampling.validate() } catch { throw .invalidRequest("\(error)") }
        return TokenRequest(prompt: prompt, maxTokens: asked?.value ?? limit - prompt.count, sampling: sampling,
                            topLogprobs: topLogprobs, stopTokens: o.ignoreEOS ? [] : stopTokens)
    }

    /// Queues the request with the engine; its refusals become 429 / 400 / 503.
    func submit(_ request: TokenRequest, promptParam: String) throws(APIError) -> TokenStream {
        do {
            let stream = try engine.submit(request)
            metrics.addPromptTokens(request.prompt.count)
            return stream
        } catch {
            throw Self.apiError(error, promptParam: promptParam)
        }
    }

    /// An engine failure as the client sees it.
    static func apiError(_ error: Error, promptParam: String) -> APIError {
        if let e = error as? APIError { return e }
        if error is CancellationError { return .unavailable("The generation was cancelled before it finished.") }
        guard let e = error as? EngineError else { return .internalError("Generation failed: \(error)") }
        switch e {
        case let .queueFull(seconds): return .overloaded(retryAfterSeconds: seconds, message: e.description)
        case let .contextExceeded(p, m, l): return .contextLengthExceeded(limit: l, promptTokens: p, maxTokens: m, param: promptParam)
        case .emptyPrompt: return .invalidValue(promptParam, "the prompt must not be empty.")
        case let .unavailable(reason): return .unavailable("The engine is unavailable: \(reason)")
        }
    }

    static func randomID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<24).map { _ in alphabet.randomElement()! })
    }

    static let jsonEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()

    /// A 200 JSON response.
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try jsonEncoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
