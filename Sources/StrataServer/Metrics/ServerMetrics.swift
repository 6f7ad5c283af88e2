import Foundation

/// The server's Prometheus registry, rendered at `GET /metrics`.
///
/// Thread-safe. The HTTP layer records requests, tokens and latencies; the coordinator feeds
/// per-stage compute and per-hop transfer times through `observeStage` / `observeHop`.
public final class ServerMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [RequestKey: UInt64] = [:]
    private var promptTokens: UInt64 = 0
    private var generationTokens: UInt64 = 0
    private var timeToFirstToken = Histogram(bounds: Histogram.latencyBounds)
    private var interTokenLatency = Histogram(bounds: Histogram.latencyBounds)
    private var requestDuration = Histogram(bounds: Histogram.durationBounds)
    private var stages: [String: Histogram] = [:]
    private var hops: [String: Histogram] = [:]

    struct RequestKey: Hashable, Comparable {
        var endpoint: String
        var status: Int
        static func < (a: RequestKey, b: RequestKey) -> Bool { (a.endpoint, a.status) < (b.endpoint, b.status) }
    }

    public init() {}

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        return body()
    }

    /// Counts one answered request (`strata_requests_total{endpoint,status}`).
    public func recordRequest(endpoint: String, status: Int) {
        locked { requests[RequestKey(endpoint: endpoint, status: status), default: 0] += 1 }
    }

    /// Adds prompt tokens of an accepted request.
    public func addPromptTokens(_ n: Int) { locked { promptTokens += UInt64(n) } }

    /// Adds generated tokens.
    public func addGenerationTokens(_ n: Int) { locked { generationTokens += UInt64(n) } }

    /// Seconds from receiving a request to its first generated token.
    public func observeTimeToFirstToken(seconds: Double) { locked { timeToFirstToken.observe(seconds) } }

    /// Seconds between two consecutive tokens of one request.
    public func observeInterTokenLatency(seconds: Double) { locked { interTokenLatency.observe(seconds) } }

    /// Seconds from receiving a generation request to its last token.
    public func observeRequestDuration(seconds: Double) { locked { requestDuration.observe(seconds) } }

    /// Compute seconds one pipeline stage spent on one batch (`stage` e.g. "worker-0 [0,10)").
    public func observeStage(name: String, seconds: Double) {
        locked { stages[name, default: Histogram(bounds: Histogram.stepBounds)].observe(seconds) }
    }

    /// Transfer seconds of one batch over one hop (`hop` e.g. "worker-0->worker-1").
    public func observeHop(name: String, seconds: Double) {
        locked { hops[name, default: Histogram(bounds: Histogram.stepBounds)].observe(seconds) }
    }

    /// The registry in text exposition format 0.0.4; gauges are read at scrape time.
    public func render(queueDepth: Int, activeRequests: Int) -> String {
        locked {
            var out = ""
            Exposition.header("strata_requests_total", "counter", "HTTP requests answered, by endpoint and status.", into: &out)
            for (key, n) in requests.sorted(by: { $0.key < $1.key }) {
                out += "strata_requests_total{\(Exposition.labels([("endpoint", key.endpoint), ("status", String(key.status))]))} \(n)\n"
            }
            Exposition.header("strata_prompt_tokens_total", "counter", "Prompt tokens of accepted generation requests.", into: &out)
            out += "strata_prompt_tokens_total \(promptTokens)\n"
            Exposition.header("strata_generation_tokens_total", "counter", "Tokens generated.", into: &out)
            out += "strata_generation_tokens_total \(generationTokens)\n"
            Exposition.header("strata_time_to_first_token_seconds", "histogram", "Seconds from request to first token.", into: &out)
            timeToFirstToken.render(name: "strata_time_to_first_token_seconds", labels: "", into: &out)
            Exposition.header("strata_inter_token_latency_seconds", "histogram", "Seconds between consecutive tokens of a request.", into: &out)
            interTokenLatency.render(name: "strata_inter_token_latency_seconds", labels: "", into: &out)
            Exposition.header("strata_request_duration_seconds", "histogram", "Seconds from request to last token.", into: &out)
            requestDuration.render(name: "strata_request_duration_seconds", labels: "", into: &out)
            Exposition.header("strata_stage_compute_seconds", "histogram", "Compute seconds per batch, by pipeline stage.", into: &out)
            for (name, h) in stages.sorted(by: { $0.key < $1.key }) {
                h.render(name: "strata_stage_compute_seconds", labels: Exposition.labels([("stage", name)]), into: &out)
            }
            Exposition.header("strata_hop_transfer_seconds", "histogram", "Transfer seconds per batch, by hop between stages.", into: &out)
            for (name, h) in hops.sorted(by: { $0.key < $1.key }) {
                h.render(name: "strata_hop_transfer_seconds", labels: Exposition.labels([("hop", name)]), into: &out)
            }
            Exposition.header("strata_queue_depth", "gauge", "Requests accepted but not yet running.", into: &out)
            out += "strata_queue_depth \(queueDepth)\n"
            Exposition.header("strata_active_requests", "gauge", "Requests running.", into: &out)
            out += "strata_active_requests \(activeRequests)\n"
            return out
        }
    }
}
