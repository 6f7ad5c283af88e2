import Foundation
import Hummingbird
import StrataTokenizer

/// `POST /v1/completions`: plain text completion, whole or streamed.
struct CompletionsRoute: Sendable {
    let serving: ServingContext

    func handle(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let startedAt = ContinuousClock.now
        let body = try await serving.readBody(request)
        let req = try RequestDecoding.decode(CompletionRequest.self, from: body)
        try req.validate()
        try serving.checkModel(req.options.model)
        let prompt: [Int]
        switch req.prompt {
        case let .text(s): prompt = serving.tokenizer.encode(s, addSpecialTokens: true)
        case let .tokens(ids): prompt = ids
        }
        let tokenRequest = try serving.tokenRequest(req.options, prompt: prompt, promptParam: "prompt", topLogprobs: req.logprobs ?? 0)
        let stream = try serving.submit(tokenRequest, promptParam: "prompt")
        let generation = TextGeneration(stream: stream, tokenizer: serving.tokenizer, stops: req.options.stop, splitter: nil,
                                        wantsLogprobs: req.logprobs != nil, metrics: serving.metrics, startedAt: startedAt)
        let header = serving.header(prefix: "cmpl-", object: "text_completion")
        if req.options.stream {
            return streamed(generation, header: header, promptTokens: prompt.count, includeUsage: req.options.includeUsage,
                            wantsLogprobs: req.logprobs != nil)
        }
        var gen = generation
        let watch = context.cancelWhenClientGone(stream)   // nothing is written until the end
        defer { watch.end() }
        var text = "", logprobs: [TokenLogprob] = []
        let outcome: GenerationOutcome
        do {
            outcome = try await gen.run { delta in text += delta.content; logprobs += delta.logprobs }
        } catch {
            throw ServingContext.apiError(error, promptParam: "prompt")
        }
        let choice = CompletionBody.Choice(text: text, logprobs: req.logprobs != nil ? LegacyLogprobs(logprobs) : nil,
                                           finishReason: outcome.finishReason)
        return try ServingContext.json(CompletionBody(header: header, choices: [choice],
                                                      usage: Usage(promptTokens: prompt.count, completionTokens: outcome.completionTokens),
                                                      writesUsage: true))
    }

    private func streamed(_ generation: TextGeneration, header: ResponseHeader, promptTokens: Int, includeUsage: Bool,
                          wantsLogprobs: Bool) -> Response {
        let logger = serving.logger
        return Response(status: .ok, headers: SSE.headers, body: ResponseBody { writer in
            var gen = generation
            func chunk(_ text: String, _ logprobs: [TokenLogprob]?, _ finish: String?) -> CompletionBody {
                CompletionBody(header: header, choices: [.init(text: text, logprobs: logprobs.map(LegacyLogprobs.init), finishReason: finish)],
                               usage: nil, writesUsage: includeUsage)
            }
            do {
                let outcome = try await gen.run { delta in
                    try await writer.write(SSE.event(chunk(delta.content, wantsLogprobs ? delta.logprobs : nil, nil)))
                }
                try await writer.write(SSE.event(chunk("", nil, outcome.finishReason)))
                if includeUsage {
                    let usage = Usage(promptTokens: promptTokens, completionTokens: outcome.completionTokens)
                    try await writer.write(SSE.event(CompletionBody(header: header, choices: [], usage: usage, writesUsage: true)))
                }
            } catch {
                // The client is gone (write failed) or the engine failed: the stream is already
                // cancelled; tell a client that is still there.
                logger.debug("completion stream ended early", metadata: ["id": "\(header.id)", "error": "\(error)"])
                try await writer.write(SSE.error(ServingContext.apiError(error, promptParam: "prompt")))
            }
            try await writer.write(SSE.done)
            try await writer.finish(nil)
        })
    }
}
