import Foundation
import StrataTestSupport
import StrataTransport
import Testing

/// The served product end to end: `strata up` with three worker processes and the OpenAI API,
/// driven by the official `openai` Python client (ops/openai-client-test: completions, chat,
/// streaming, stop sequences, seeds, 16 concurrent streams equal to their solo runs, errors), then
/// Ctrl-C stops everything.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct ServeCLITests {
    static var repo: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func openAIClientAgainstThreeWorkerCluster() throws {
        let http = try FreePort.next()
        let ports = try (0..<4).map { _ in try FreePort.next() }
        let config = NSTemporaryDirectory() + "strata-serve-\(UUID().uuidString).yaml"
        try """
            model: \(TestAssets.smolLM2)
            coordinator:
              http: 127.0.0.1:\(http)
              control: tcp://127.0.0.1:\(ports[0])
            workers:
            \((1...3).map { "  - name: w\($0 - 1)\n    endpoint: tcp://127.0.0.1:\(ports[$0])\n    memory: 1GiB" }.joined(separator: "\n"))
            context: 2048
            max_batch: 16
            """.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }

        let up = Process()
        up.executableURL = URL(fileURLWithPath: StrataCLI.executable)
        up.arguments = ["up", "--config", config, "--log-level", "warning"]
        let upErr = Pipe()
        up.standardError = upErr
        try up.run()
        defer { if up.isRunning { up.terminate() } }

        // Wait for /health to say ok.
        let deadline = Date().addingTimeInterval(120)
        var healthy = false
        while Date() < deadline && up.isRunning && !healthy {
            let r = try StrataCLI.runTool("/usr/bin/curl", ["-s", "http://127.0.0.1:\(http)/health"])
            healthy = r.stdout.contains("\"status\":\"ok\"")
            if !healthy { Thread.sleep(forTimeInterval: 0.5) }
        }
        #expect(healthy, "the cluster did not become healthy")

        let client = try StrataCLI.runTool("/bin/bash", [Self.repo.appendingPathComponent("ops/openai-client-test").path,
                                                         "--base-url", "http://127.0.0.1:\(http)/v1",
                                                         "--model", "SmolLM2-135M-Instruct.Q4_1"])
        #expect(client.status == 0, "\(client.stdout)\n\(client.stderr)")
        #expect(client.stdout.contains("all checks passed"), "\(client.stdout)")

        // Metrics are real Prometheus text with the cluster's per-stage and per-hop series.
        let metrics = try StrataCLI.runTool("/usr/bin/curl", ["-s", "http://127.0.0.1:\(http)/metrics"]).stdout
        for name in ["strata_requests_total", "strata_time_to_first_token_seconds_bucket", "strata_queue_depth"] {
            #expect(metrics.contains(name), "missing \(name)")
        }
        #expect(metrics.contains("w1→w2") || metrics.contains("w1\\u2192w2") || metrics.contains("hop="), "no per-hop series")

        // Ctrl-C: the server drains and every process exits cleanly.
        up.interrupt()
        up.waitUntilExit()
        #expect(up.terminationStatus == 0, "\(String(decoding: upErr.fileHandleForReading.availableData, as: UTF8.self))")
    }
}
