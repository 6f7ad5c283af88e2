import StrataModel
import StrataTokenizer

/// What one step of a generation adds for the client: text for `content` and for
/// `reasoning_content`, and the log-probabilities of the tokens whose text is now released.
struct TextDelta: Sendable {
    var content = ""
    var reasoning = ""
    var logprobs: [TokenLogprob] = []
    var isEmpty: Bool { content.isEmpty && reasoning.isEmpty && logprobs.isEmpty }
}

/// How a generation ended.
struct GenerationOutcome: Sendable, Equatable {
    /// OpenAI's `finish_reason`: "stop" (stop token or string) or "length".
    var finishReason: String
    /// Tokens the engine generated (a stop token is not counted; it is not emitted).
    var completionTokens: Int
}

/// Turns one engine `TokenStream` into client text: detokenizes incrementally, matches stop
/// strings across tokens (cancelling the stream on a match), splits reasoning from content, and
/// keeps each token's logprobs with the text it produced. Records token metrics.
struct TextGeneration {
    let stream: TokenStream
    let tokenizer: Tokenizer
    let wantsLogprobs: Bool
    let metrics: ServerMetrics
    let startedAt: ContinuousClock.Instant

    private var decoder: StreamingDecoder
    private var matcher: StopMatcher
    private var splitter: ReasoningSplitter?
    /// Tokens whose text is not yet released, with the byte range of that text.
    private var heldTokens: [(logprob: TokenLogprob, start: Int, end: Int)] = []
    private var decodedBytes = 0
    private var decodedScalars = 0
    private var completionTokens = 0
    private var lastTokenAt: ContinuousClock.Instant?

    init(stream: TokenStream, tokenizer: Tokenizer, stops: [String], splitter: ReasoningSplitter?,
         wantsLogprobs: Bool, metrics: ServerMetrics, startedAt: ContinuousClock.Instant) {
        self.stream = stream; self.tokenizer = tokenizer; self.wantsLogprobs = wantsLogprobs
        self.metrics = metrics; self.startedAt = startedAt; self.splitter = splitter
        decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: true)
        matcher = StopMatcher(stops: stops)
    }

    /// Consumes the stream, calling `emit` with each non-empty delta as soon as its text is safe
    /// to show. Cancels the engine stream if `emit` throws, the task is cancelled, or a stop string
    /// matches. Throws `CancellationError` when the stream ends without finishing.
    mutating func run(_ emit: (TextDelta) async throws -> Void) async throws -> GenerationOutcome {
        let stream = self.stream
        return try await withTaskCancellationHandler {
            do {
                let outcome = try await consume(emit)
                metrics.observeRequestDuration(seconds: seconds(since: startedAt))
                return outcome
            } catch {
                stream.cancel()
                throw error
            }
        } onCancel: {
            stream.cancel()
        }
    }

    private mutating func consume(_ emit: (TextDelta) async throws -> Void) async throws -> GenerationOutcome {
        for try await event in stream.events {
            switch event {
            case let .token(token):
                recordTiming()
                completionTokens += 1
                let piece = decoder.push(token.token)
                if try await accept(piece, token: token, emit) { return finish("stop") }
            case let .finished(reason):
                let tail = decoder.finish()
                if try await accept(tail, token: nil, emit) { return finish("stop") }
                try await flush(emit)
                return finish(reason == .stop ? "stop" : "length")
            }
        }
        try Task.checkCancellation()
        throw CancellationError()
    }

    /// Feeds one token's text; emits what is released. True when a stop string matched.
    private mutating func accept(_ piece: String, token: SampledToken?, _ emit: (TextDelta) async throws -> Void) async throws -> Bool {
        if let token, wantsLogprobs {
            let entry = TokenLogprob(token: tokenizer.decode([token.token]), logprob: token.logprob,
                                     top: token.top.map { (tokenizer.decode([$0.token]), $0.logprob) }, textOffset: decodedScalars)
            heldTokens.append((entry, decodedBytes, decodedBytes + piece.utf8.count))
        }
        decodedBytes += piece.utf8.count
        decodedScalars += piece.unicodeScalars.count
        let released = matcher.push(piece)
        if matcher.matched {
            stream.cancel()
            // Tokens that contributed any text before the match stay.
            let cut = matcher.releasedBytes
            var delta = split(released, final: true)
            delta.logprobs = heldTokens.filter { $0.start < cut }.map(\.logprob)
            heldTokens.removeAll()
            if !delta.isEmpty { try await emit(delta) }
            return true
        }
        var delta = split(released, final: false)
        let done = heldTokens.prefix { $0.end <= matcher.releasedBytes }
        delta.logprobs = done.map(\.logprob)
        heldTokens.removeFirst(done.count)
        if !delta.isEmpty { try await emit(delta) }
        return false
    }

    /// Releases everything still held at the end of the generation.
    private mutating func flush(_ emit: (TextDelta) async throws -> Void) async throws {
        var delta = split(matcher.finish(), final: true)
        delta.logprobs = heldTokens.map(\.logprob)
        heldTokens.removeAll()
        if !delta.isEmpty { try await emit(delta) }
    }

    private mutating func split(_ text: String, final: Bool) -> TextDelta {
        guard var s = splitter else { return TextDelta(content: text) }
        var (reasoning, content) = s.push(text)
        if final {
            let tail = s.finish()
            reasoning += tail.reasoning; content += tail.content
        }
        splitter = s
        return TextDelta(content: content, reasoning: reasoning)
    }

    private mutating func recordTiming() {
        let now = ContinuousClock.now
        if let last = lastTokenAt {
            metrics.observeInterTokenLatency(seconds: seconds(from: last, to: now))
        } else {
            metrics.observeTimeToFirstToken(seconds: seconds(from: startedAt, to: now))
        }
        lastTokenAt = now
        metrics.addGenerationTokens(1)
    }

    private func finish(_ reason: String) -> GenerationOutcome {
        GenerationOutcome(finishReason: reason, completionTokens: completionTokens)
    }
}

func seconds(from a: ContinuousClock.Instant, to b: ContinuousClock.Instant) -> Double {
    let d = b - a
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

func seconds(since a: ContinuousClock.Instant) -> Double { seconds(from: a, to: .now) }
