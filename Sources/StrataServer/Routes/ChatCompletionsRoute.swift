import Foundation
import Hummingbird
import StrataTokenizer

/// `POST /v1/chat/completions`: the conversation rendered by the model's chat template, the answer
/// whole or streamed, reasoning split into `reasoning_content`.
struct ChatCompletionsRoute: Sendable {
    let serving: ServingContext

    func handle(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let startedAt = ContinuousClock.now
        let body = try await serving.readBody(request)
        let req = try RequestDecoding.decode(ChatRequest.self, from: body)
        try req.validate()
        try serving.checkModel(req.options.model)
        let rendered = try render(req)
        let prompt = serving.tokenizer.encode(rendered, addSpecialTokens: false)
        let topLogprobs = req.logprobs ? req.topLogprobs ?? 0 : 0
        let tokenRequest = try serving.tokenRequest(req.options, prompt: prompt, promptParam: "messages", topLogprobs: topLogprobs)
        let stream = try serving.submit(tokenRequest, promptParam: "messages")
        let splitter = serving.configuration.parseReasoning
            ? ReasoningSplitter(startsInReasoning: ReasoningSplitter.promptOpensReasoning(rendered)) : nil
        let generation = TextGeneration(stream: stream, tokenizer: serving.tokenizer, stops: req.options.stop, splitter: splitter,
                                        wantsLogprobs: req.logprobs, metrics: serving.metrics, startedAt: startedAt)
        if req.options.stream {
            let header = serving.header(prefix: "chatcmpl-", object: "chat.completion.chunk")
            return streamed(generation, header: header, promptTokens: prompt.count, includeUsage: req.options.includeUsage,
                            wantsLogprobs: req.logprobs)
        }
        var gen = generation
        let watch = context.cancelWhenClientGone(stream)   // nothing is written until the end
        defer { watch.end() }
        var content = "", reasoning = "", logprobs: [TokenLogprob] = []
        let outcome: GenerationOutcome
        do {
            outcome = try await gen.run { delta in
                content += delta.content; reasoning += delta.reasoning; logprobs += delta.logprobs
            }
        } catch {
            throw ServingContext.apiError(error, promptParam: "messages")
        }
        let message = ChatBody.Message(role: "assistant", content: content,
                                       reasoningContent: reasoning.isEmpty ? nil : reasoning, isDelta: false)
        let choice = ChatBody.Choice(message: message, logprobs: req.logprobs ? ChatLogprobs(logprobs) : nil,
                                     finishReason: outcome.finishReason)
        let header = serving.header(prefix: "chatcmpl-", object: "chat.completion")
        return try ServingContext.json(ChatBody(header: header, choices: [choice],
                                                usage: Usage(promptTokens: prompt.count, completionTokens: outcome.completionTokens),
                                                writesUsage: true))
    }

    /// The prompt text from the model's own template (400 when the template rejects the conversation).
    func render(_ req: ChatRequest) throws -> String {
        guard let template = serving.chatTemplate else {
            throw APIError.invalidRequest("This model has no chat template; use /v1/completions.", param: "messages")
        }
        var extra: [String: Value] = [:]
        if let tools = req.tools, tools != .null { extra["tools"] = tools.templateValue }
        do {
            return try template.render(messages: req.messages.map(\.chatMessage), addGenerationPrompt: true, extra: extra)
        } catch {
            throw APIError.invalidRequest("The chat template could not render these messages: \(error)", param: "messages")
        }
    }

    private func streamed(_ generation: TextGeneration, header: ResponseHeader, promptTokens: Int, includeUsage: Bool,
                          wantsLogprobs: Bool) -> Response {
        let logger = serving.logger
        return Response(status: .ok, headers: SSE.headers, body: ResponseBody { writer in
            var gen = generation
            func chunk(_ delta: ChatBody.Message, _ logprobs: [TokenLogprob]?, _ finish: String?) -> ChatBody {
                ChatBody(header: header, choices: [.init(message: delta, logprobs: logprobs.map(ChatLogprobs.init), finishReason: finish)],
                         usage: nil, writesUsage: includeUsage)
            }
            do {
                try await writer.write(SSE.event(chunk(.init(role: "assistant", content: "", isDelta: true), nil, nil)))
                let outcome = try await gen.run { delta in
                    let message = ChatBody.Message(content: delta.content.isEmpty ? nil : delta.content,
                                                   reasoningContent: delta.reasoning.isEmpty ? nil : delta.reasoning, isDelta: true)
                    try await writer.write(SSE.event(chunk(message, wantsLogprobs ? delta.logprobs : nil, nil)))
                }
                try await writer.write(SSE.event(chunk(.init(isDelta: true), nil, outcome.finishReason)))
                if includeUsage {
                    let usage = Usage(promptTokens: promptTokens, completionTokens: outcome.completionTokens)
                    try await writer.write(SSE.event(ChatBody(header: header, choices: [], usage: usage, writesUsage: true)))
                }
            } catch {
                logger.debug("chat stream ended early", metadata: ["id": "\(header.id)", "error": "\(error)"])
                try await writer.write(SSE.error(ServingContext.apiError(error, promptParam: "messages")))
            }
            try await writer.write(SSE.done)
            try await writer.finish(nil)
        })
    }
}
