import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StrataTokenizer

/// The OpenAI-compatible HTTP API over a `TokenEngine`:
/// `GET /v1/models`, `POST /v1/completions`, `POST /v1/chat/completions` (whole or SSE),
/// `GET /health`, `GET /metrics`.
///
/// ```swift
/// let server = try OpenAIServer(configuration: .init(host: "127.0.0.1", port: 8000, modelName: "smollm2"),
///                               engine: scheduler, tokenizer: tokenizer, chatTemplate: template)
/// try await server.run()          // until shutdown(), task cancellation, or an enclosing ServiceGroup stops it
/// ```
public final class OpenAIServer: Sendable {
    public let configuration: ServerConfiguration
    /// The Prometheus registry; feed per-stage / per-hop times with `observeStage` / `observeHop`.
    public let metrics: ServerMetrics
    let serving: ServingContext
    let lifecycle = Lifecycle()

    /// - Parameters:
    ///   - engine: the scheduler (continuous batching over `LocalModel` or the cluster).
    ///   - tokenizer: the model's tokenizer; its EOS ends generations unless `stopTokens` are configured.
    ///   - chatTemplate: the model's chat template; without one `/v1/chat/completions` answers 400.
    ///   - workerHealth: what `/health` reports about workers (default: none).
    public init(configuration: ServerConfiguration, engine: any TokenEngine, tokenizer: Tokenizer, chatTemplate: ChatTemplate?,
                metrics: ServerMetrics = ServerMetrics(), workerHealth: @escaping WorkerHealthProvider = { [] },
                logger: Logger = Logger(label: "strata.server")) throws(ServerError) {
        try configuration.validate()
        var stops = configuration.stopTokens
        if stops.isEmpty, let eos = tokenizer.eosTokenID { stops = [eos] }
        guard !stops.isEmpty else { throw .noStopTokens }
        self.configuration = configuration
        self.metrics = metrics
        serving = ServingContext(configuration: configuration, engine: engine, tokenizer: tokenizer, chatTemplate: chatTemplate,
                                 stopTokens: stops, metrics: metrics, workerHealth: workerHealth, logger: logger)
    }

    /// The router with every route and middleware (for `HummingbirdTesting` or embedding).
    public func makeRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.middlewares.add(RequestMetricsMiddleware(metrics: metrics))
        router.middlewares.add(OpenAIErrorMiddleware(maxRequestBytes: configuration.maxRequestBytes, logger: serving.logger))
        router.middlewares.add(BearerAuthMiddleware(keys: configuration.apiKeys))
        let info = InfoRoutes(serving: serving)
        let completions = CompletionsRoute(serving: serving)
        let chat = ChatCompletionsRoute(serving: serving)
        router.get("/v1/models") { _, _ in try info.models() }
        router.post("/v1/completions") { request, context in try await completions.handle(request, context: context) }
        router.post("/v1/chat/completions") { request, context in try await chat.handle(request, context: context) }
        router.get("/health") { _, _ in try await info.health() }
        router.get("/metrics") { _, _ in info.metrics() }
        return router
    }

    /// The Hummingbird application bound to the configured address; `run()` runs it.
    public func makeApplication() -> some ApplicationProtocol {
        let lifecycle = self.lifecycle
        return Application(router: makeRouter(),
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "strata"),
                           onServerRunning: { channel in lifecycle.listening(port: channel.localAddress?.port) },
                           logger: serving.logger)
    }

    /// Serves until `shutdown()` (in-flight requests drain first), task cancellation, or the
    /// graceful shutdown of an enclosing `ServiceGroup`. Runs once.
    public func run() async throws {
        let group = ServiceGroup(services: [makeApplication()], logger: serving.logger)
        guard try lifecycle.start(group) else { return }  // shut down before it started
        defer { lifecycle.stopped() }
        serving.logger.info("serving OpenAI API", metadata: ["host": "\(configuration.host)", "port": "\(configuration.port)",
                                                             "model": "\(configuration.modelName)"])
        try await group.run()
    }

    /// Stops accepting connections and lets in-flight requests finish; `run()` then returns.
    public func shutdown() async {
        if let group = lifecycle.requestShutdown() { await group.triggerGracefulShutdown() }
    }

    /// The bound port, once listening (useful with port 0). Throws `ServerError.notListening`
    /// if the server stops first.
    public func listeningPort() async throws -> Int {
        try await lifecycle.port()
    }
}

extension OpenAIServer: Service {}

/// Start/stop state of one server and the callers waiting for its port.
final class Lifecycle: @unchecked Sendable {
    private let lock = NSLock()
    private var group: ServiceGroup?
    private var started = false
    private var shutdownRequested = false
    private var finished = false
    private var boundPort: Int?
    private var waiters: [CheckedContinuation<Int, Error>] = []

    /// Records the group; false when a shutdown came first.
    func start(_ group: ServiceGroup) throws(ServerError) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard !started else { throw .alreadyStarted }
        started = true
        guard !shutdownRequested else { finished = true; resumeWaiters(); return false }
        self.group = group
        return true
    }

    func requestShutdown() -> ServiceGroup? {
        lock.lock(); defer { lock.unlock() }
        shutdownRequested = true
        return group
    }

    func listening(port: Int?) {
        lock.lock(); defer { lock.unlock() }
        boundPort = port
        resumeWaiters()
    }

    func stopped() {
        lock.lock(); defer { lock.unlock() }
        finished = true
        group = nil
        resumeWaiters()
    }

    func port() async throws -> Int {
        try await withCheckedThrowingContinuation { c in
            lock.lock(); defer { lock.unlock() }
            waiters.append(c)
            resumeWaiters()
        }
    }

    /// Resumes waiters once the port is known or the server is finished (lock held).
    private func resumeWaiters() {
        if let boundPort {
            waiters.forEach { $0.resume(returning: boundPort) }
        } else if finished {
            waiters.forEach { $0.resume(throwing: ServerError.notListening) }
        } else {
            return
        }
        waiters.removeAll()
    }
}
