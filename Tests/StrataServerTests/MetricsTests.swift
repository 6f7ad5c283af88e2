import StrataServer
import Testing

@Suite struct MetricsTests {
    @Test func rendersTextExpositionFormat() {
        let m = ServerMetrics()
        m.recordRequest(endpoint: "/v1/completions", status: 200)
        m.recordRequest(endpoint: "/v1/completions", status: 200)
        m.recordRequest(endpoint: "/v1/completions", status: 400)
        m.addPromptTokens(7)
        m.addGenerationTokens(3)
        m.observeTimeToFirstToken(seconds: 0.02)
        m.observeStage(name: "worker-0 [0,10)", seconds: 0.003)
        m.observeHop(name: "worker-0->worker-1", seconds: 0.0004)
        let text = m.render(queueDepth: 2, activeRequests: 5)
        #expect(text.contains("# TYPE strata_requests_total counter\n"))
        #expect(text.contains("strata_requests_total{endpoint=\"/v1/completions\",status=\"200\"} 2\n"))
        #expect(text.contains("strata_requests_total{endpoint=\"/v1/completions\",status=\"400\"} 1\n"))
        #expect(text.contains("strata_prompt_tokens_total 7\n"))
        #expect(text.contains("strata_generation_tokens_total 3\n"))
        #expect(text.contains("strata_time_to_first_token_seconds_bucket{le=\"0.01\"} 0\n"))
        #expect(text.contains("strata_time_to_first_token_seconds_bucket{le=\"0.025\"} 1\n"))
        #expect(text.contains("strata_time_to_first_token_seconds_bucket{le=\"+Inf\"} 1\n"))
        #expect(text.contains("strata_time_to_first_token_seconds_count 1\n"))
        #expect(text.contains("# TYPE strata_inter_token_latency_seconds histogram\n"))
        #expect(text.contains("strata_stage_compute_seconds_bucket{stage=\"worker-0 [0,10)\",le=\"0.005\"} 1\n"))
        #expect(text.contains("strata_hop_transfer_seconds_count{hop=\"worker-0->worker-1\"} 1\n"))
        #expect(text.contains("strata_queue_depth 2\n"))
        #expect(text.contains("strata_active_requests 5\n"))
        // Every non-comment line is `name{labels} value` or `name value`.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count >= 2, "\(line)")
        }
    }

    @Test func escapesLabelValues() {
        let m = ServerMetrics()
        m.observeStage(name: "a\"b\\c\nd", seconds: 1)
        #expect(m.render(queueDepth: 0, activeRequests: 0).contains("stage=\"a\\\"b\\\\c\\nd\""))
    }
}
