import StrataServer
import Testing

@Suite struct EngineErrorTests {
    @Test func messagesNameTheLimits() {
        #expect(EngineError.contextExceeded(promptTokens: 4000, maxTokens: 200, limit: 4096).description
            == "this model's maximum context length is 4096 tokens; the prompt has 4000 tokens and 200 more were requested")
        #expect(EngineError.queueFull(retryAfterSeconds: 2).description.contains("retry in 2 s"))
    }
}
