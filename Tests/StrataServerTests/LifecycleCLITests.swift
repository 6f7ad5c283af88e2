import Foundation
import StrataTestSupport
import StrataTransport
import Testing

/// `strata up` under load and at its end, with real processes: heavy prompts hold the cluster
/// (`strata bench load`), SIGTERM drains within drain_timeout, SIGKILL or a failed start leaves
/// no worker behind, and a frozen (SIGSTOP) worker is lost and comes back.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct LifecycleCLITests {
    /// `strata bench load` at a CI-sized shape (3 × 400 tokens): long prompts while a stream runs, unchunked then
    /// chunked (budget 32 rows), on clusters whose heartbeat timeout (3 s) is shorter than an
    /// unchunked step. Same texts as alone, no worker lost, heartbeat ages within the timeout.
    /// (The gap and prefill-rate goals are the benchmark's, judged on a quiet box, not here where
    /// other suites share the cores.)
    @Test func heavyPromptsHoldTheCluster() throws {
        let dir = NSTemporaryDirectory() + "strata-load-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ports = try (0..<5).map { _ in try FreePort.next() }
        let workers = (0..<3).map { "  - name: w\($0)\n    endpoint: tcp://127.0.0.1:\(ports[$0 + 2])\n    memory: 2GiB\n    threads: 1" }
        let yaml = """
            model: \(TestAssets.smolLM2)
            coordinator:
              http: 127.0.0.1:\(ports[0])
              control: tcp://127.0.0.1:\(ports[1])
            workers:
            \(workers.joined(separator: "\n"))
            context: 1024
            max_batch: 4
            heartbeat:
              interval: 250ms
              timeout: 3s

            """
        try yaml.write(toFile: dir + "/cluster.yaml", atomically: true, encoding: .utf8)
        let r = try StrataCLI.run(["bench", "load", "--config", dir + "/cluster.yaml", "--prompts", "3", "--prompt-tokens", "400",
                                   "--tokens", "8", "--max-step-tokens", "32", "--min-prefill-ratio", "0", "--max-gap", "30", "--max-heartbeat-age", "3",
                                   "--log-dir", dir + "/load"])
        let logs = ["unchunked", "chunked"].map { (try? String(contentsOfFile: dir + "/load/\($0).log", encoding: .utf8)) ?? "" }
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)\n\(logs.joined(separator: "\n"))")
        #expect(r.stdout.contains("texts_equal_solo: 6/6"), "\(r.stdout)")
        #expect(r.stdout.contains("workers_lost: 0"), "\(r.stdout)")
        #expect(r.stdout.hasSuffix("load_ok: true\n"), "\(r.stdout)")
    }

    /// SIGTERM while a long stream and a short one run (drain_timeout 2 s): the short one
    /// finishes normally, the long one ends with an error event, and `strata up` exits within
    /// drain_timeout + 5 s with every worker gone.
    @Test func sigtermDrainsThenFailsWhatIsLeftAndExits() throws {
        let rig = try UpRig(workers: 3, extra: "drain_timeout: 2s\n")
        defer { rig.stop() }
        let long = rig.curlStream("long", maxTokens: 480)
        let short = rig.curlStream("short", maxTokens: 24)
        #expect(rig.waitForOutput("long", containing: "data: {"), "the long stream did not start\n\(rig.log())")
        let t0 = Date()
        kill(rig.up.processIdentifier, SIGTERM)
        rig.up.waitUntilExit()
        let took = Date().timeIntervalSince(t0)
        long.waitUntilExit(); short.waitUntilExit()
        #expect(took < 2 + 5, "strata up took \(took) s to exit after SIGTERM\n\(rig.log())")
        let shortOut = rig.output("short"), longOut = rig.output("long")
        #expect(shortOut.contains("\"finish_reason\":\"length\"") && shortOut.contains("data: [DONE]"), "\(shortOut)")
        #expect(longOut.contains("\"error\"") && !longOut.contains("\"finish_reason\":\"length\""), "\(longOut)")
        #expect(rig.log().contains("draining"), "\(rig.log())")
        Thread.sleep(forTimeInterval: 1)
        for port in rig.ports.dropFirst() { #expect(!rig.workerRunning(port: port), "worker on \(port) outlived strata up") }
    }

    /// A non-streaming client that disconnects mid-generation: its sequence is freed on every
    /// worker (their heartbeats report 0 open sequences) within a second or two.
    @Test func nonStreamingClientThatLeavesIsFreedOnEveryWorker() throws {
        let rig = try UpRig(workers: 3, context: 2048)
        defer { rig.stop() }
        // 2,000 tokens: far longer than the wait below, so only a cancellation frees it in time.
        let body = #"{"model": "SmolLM2-135M-Instruct.Q4_1", "prompt": "Once upon a time", "max_tokens": 2000, "temperature": 0, "ignore_eos": true}"#
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        client.arguments = ["-s", "-o", "/dev/null", "-H", "Content-Type: application/json", "--data-binary", body,
                            "http://127.0.0.1:\(rig.http)/v1/completions"]
        try client.run()
        #expect(rig.waitForOpenSequences { $0 > 0 }, "the request never started\n\(rig.log())")
        client.terminate()   // the connection closes mid-generation
        client.waitUntilExit()
        let t0 = Date()
        #expect(rig.waitForOpenSequences { $0 == 0 }, "sequences still open on the workers\n\(rig.log())")
        #expect(Date().timeIntervalSince(t0) < 3, "freed only after \(Date().timeIntervalSince(t0)) s")
    }

    /// A command-line override of a restart-only setting (`--max-step-tokens`) does not make every
    /// later edit of cluster.yaml look like a change of that setting: an added worker still joins.
    @Test func editsApplyUnderACommandLineOverride() throws {
        let rig = try UpRig(workers: 3, spare: 1, upArguments: ["--max-step-tokens", "16"])
        defer { rig.stop() }
        try FileManager.default.removeItem(atPath: rig.config)
        try FileManager.default.copyItem(atPath: rig.dir + "/four.yaml", toPath: rig.config)
        #expect(rig.waitHealthy(stages: 4, including: "w3"), "w3 did not join\n\(rig.log())")
        #expect(!rig.log().contains("needs a restart"), "\(rig.log())")
    }

    /// SIGKILL of `strata up` in the middle of a prefill: its workers notice their parent is gone
    /// and exit mid-step; none is left after 3 s.
    @Test func sigkillOfUpLeavesNoWorkerBehind() throws {
        let rig = try UpRig(workers: 3, context: 2048, extra: "max_step_tokens: 2048\n")
        defer { rig.stop() }
        let prompt = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 150)   // ≈ 1,600 tokens
        let request = rig.curlStream("long", prompt: prompt, maxTokens: 16)
        Thread.sleep(forTimeInterval: 1)   // inside the one big prefill step
        kill(rig.up.processIdentifier, SIGKILL)
        rig.up.waitUntilExit()
        Thread.sleep(forTimeInterval: 3)
        for port in rig.ports.dropFirst() { #expect(!rig.workerRunning(port: port), "worker on \(port) outlived strata up") }
        request.terminate()
    }

    /// A start that fails (the model cannot be read) exits non-zero and leaves no worker running.
    @Test func failedStartLeavesNoWorkerBehind() throws {
        let rig = try UpRig(workers: 3, model: "/nonexistent/model.gguf", waitUntilHealthy: false)
        defer { rig.stop() }
        rig.up.waitUntilExit()
        #expect(rig.up.terminationStatus != 0)
        #expect(rig.log().contains("/nonexistent/model.gguf"), "\(rig.log())")
        Thread.sleep(forTimeInterval: 3)
        for port in rig.ports.dropFirst() { #expect(!rig.workerRunning(port: port), "worker on \(port) outlived strata up") }
    }

    /// A frozen worker (SIGSTOP) goes silent: it is declared lost within the heartbeat timeout and
    /// the streams finish on the others with their unfaulted text; after SIGCONT it rejoins.
    @Test func frozenWorkerIsLostAndRejoinsAfterSIGCONT() throws {
        let rig = try UpRig(workers: 3)
        defer { rig.stop() }
        let pattern = "[s]trata worker --listen tcp://127.0.0.1:\(rig.ports[2]) "
        defer { _ = try? StrataCLI.runTool("/bin/bash", ["-c", "kill -CONT $(pgrep -f '\(pattern)')"]) }
        let clean = try rig.streams("clean.json")
        let frozen = try rig.streams("stop.json", fault: "kill -STOP $(pgrep -f '\(pattern)')")
        rig.expectSame(clean, frozen, "with w1 frozen")
        #expect(rig.log().contains("no heartbeat"), "\(rig.log())")
        _ = try StrataCLI.runTool("/bin/bash", ["-c", "kill -CONT $(pgrep -f '\(pattern)')"])
        #expect(rig.waitHealthy(stages: 3, including: "w1"), "w1 did not rejoin\n\(rig.log())")
        #expect(rig.interrupt() == 0, "\(rig.log())")
    }
}

extension UpRig {
    /// Starts `curl -N` streaming a greedy completion into `<dir>/<name>.out`.
    func curlStream(_ name: String, prompt: String = "Once upon a time, in a small village,", maxTokens: Int) -> Process {
        let body = try! JSONSerialization.data(withJSONObject: [
            "model": "SmolLM2-135M-Instruct.Q4_1", "prompt": prompt, "max_tokens": maxTokens, "temperature": 0,
            "stream": true, "ignore_eos": true,
        ] as [String: Any])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "-N", "-o", "\(dir)/\(name).out", "-H", "Content-Type: application/json",
                       "--data-binary", String(decoding: body, as: UTF8.self), "http://127.0.0.1:\(http)/v1/completions"]
        try! p.run()
        return p
    }

    /// Waits (≤ 5 s) until the open-sequence counts in /health (every worker's "N sequences
    /// open") satisfy `condition` for their sum.
    func waitForOpenSequences(_ condition: (Int) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if let r = try? StrataCLI.runTool("/usr/bin/curl", ["-s", "http://127.0.0.1:\(http)/health"]),
               let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
               let workers = json["workers"] as? [[String: Any]], workers.count == 3 {
                let counts = workers.compactMap { ($0["detail"] as? String)?.split(separator: " ").first.flatMap { Int($0) } }
                if counts.count == workers.count, condition(counts.reduce(0, +)) { return true }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    func output(_ name: String) -> String { (try? String(contentsOfFile: "\(dir)/\(name).out", encoding: .utf8)) ?? "" }

    /// Waits (≤ 60 s) until `<name>.out` contains `text`.
    func waitForOutput(_ name: String, containing text: String) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if output(name).contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

}
