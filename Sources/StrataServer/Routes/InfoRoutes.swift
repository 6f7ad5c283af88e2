import Foundation
import Hummingbird

/// What the coordinator knows about one worker, shown by `GET /health`.
public struct WorkerHealth: Sendable, Encodable, Equatable {
    public var name: String
    /// Its address (e.g. `tcp://10.0.0.2:5555`).
    public var address: String?
    /// Its layers, half-open (`[0,10)`).
    public var layerRange: String?
    /// False when it missed heartbeats or failed; `/health` then reports "degraded" with 503.
    public var healthy: Bool
    /// Seconds since its last heartbeat.
    public var lastHeartbeatSecondsAgo: Double?
    /// A short note (state, error).
    public var detail: String?
    /// The kernel variant it runs (generic, avx2, avx512), as it reported at join.
    public var kernelVariant: String?

    public init(name: String, address: String? = nil, layerRange: String? = nil, healthy: Bool,
                lastHeartbeatSecondsAgo: Double? = nil, detail: String? = nil, kernelVariant: String? = nil) {
        self.name = name; self.address = address; self.layerRange = layerRange; self.healthy = healthy
        self.lastHeartbeatSecondsAgo = lastHeartbeatSecondsAgo; self.detail = detail; self.kernelVariant = kernelVariant
    }

    enum CodingKeys: String, CodingKey {
        case name, address, healthy, detail
        case layerRange = "layer_range", lastHeartbeatSecondsAgo = "last_heartbeat_seconds_ago"
        case kernelVariant = "kernel_variant"
    }
}

/// Reports the workers' state for `/health` (the coordinator supplies it; a single process: none).
public typealias WorkerHealthProvider = @Sendable () async -> [WorkerHealth]

/// `GET /v1/models`, `GET /health`, `GET /metrics`.
struct InfoRoutes: Sendable {
    let serving: ServingContext
    let startedAt = Int(Date().timeIntervalSince1970)

    func models() throws -> Response {
        try ServingContext.json(ModelList(data: [ModelCard(id: serving.configuration.modelName, created: startedAt)]))
    }

    struct HealthBody: Encodable {
        var status: String
        var model: String
        var queueDepth: Int
        var activeRequests: Int
        var workers: [WorkerHealth]
        enum CodingKeys: String, CodingKey {
            case status, model, workers, queueDepth = "queue_depth", activeRequests = "active_requests"
        }
    }

    /// 200 `{"status": "ok", ...}` when every worker is healthy, else 503 with "degraded".
    func health() async throws -> Response {
        let workers = await serving.workerHealth()
        let ok = workers.allSatisfy(\.healthy)
        let body = HealthBody(status: ok ? "ok" : "degraded", model: serving.configuration.modelName,
                              queueDepth: serving.engine.queueDepth, activeRequests: serving.engine.activeCount, workers: workers)
        return try ServingContext.json(body, status: ok ? .ok : .serviceUnavailable)
    }

    func metrics() -> Response {
        let text = serving.metrics.render(queueDepth: serving.engine.queueDepth, activeRequests: serving.engine.activeCount)
        return Response(status: .ok, headers: [.contentType: Exposition.contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
