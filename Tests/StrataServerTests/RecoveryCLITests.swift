import Foundation
import StrataTestSupport
import StrataTransport
import Testing

/// A worker process killed (SIGKILL) while 8 greedy streams run through `strata up`'s three local
/// workers: every stream completes with exactly the text of an unfaulted run (the coordinator
/// re-plans over the survivors and re-prefills each sequence from its kept tokens), `strata up`
/// starts the worker again, it rejoins, and the cluster is back to three healthy stages.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct RecoveryCLITests {
    @Test func streamsSurviveAKilledWorkerAndItRejoins() throws {
        let http = try FreePort.next()
        let ports = try (0..<4).map { _ in try FreePort.next() }
        let dir = NSTemporaryDirectory() + "strata-recovery-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/cluster.yaml"
        try """
            model: \(TestAssets.smolLM2)
            coordinator:
              http: 127.0.0.1:\(http)
              control: tcp://127.0.0.1:\(ports[0])
            workers:
            \((1...3).map { "  - name: w\($0 - 1)\n    endpoint: tcp://127.0.0.1:\(ports[$0])\n    memory: 2GiB\n    threads: 1" }.joined(separator: "\n"))
            context: 512
            max_batch: 8
            heartbeat:
              interval: 250ms
              timeout: 3s
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let up = Process()
        up.executableURL = URL(fileURLWithPath: StrataCLI.executable)
        up.arguments = ["up", "--config", config, "--log-level", "notice", "--lanes", "1"]
        let log = FileHandle(forWritingAtPath: { FileManager.default.createFile(atPath: dir + "/up.log", contents: nil); return dir + "/up.log" }())!
        up.standardError = log
        try up.run()
        defer { if up.isRunning { up.terminate(); up.waitUntilExit() } }
        func upLog() -> String { (try? String(contentsOfFile: dir + "/up.log", encoding: .utf8)) ?? "" }
        #expect(waitHealthy(http, workers: 3, up: up), "the cluster did not become healthy\n\(upLog())")

        func streams(_ out: String, fault: String? = nil) throws -> [String: Any] {
            var args = [ServeCLITests.repo.appendingPathComponent("ops/fault-streams").path,
                        "--base-url", "http://127.0.0.1:\(http)/v1", "--model", "SmolLM2-135M-Instruct.Q4_1",
                        "--streams", "8", "--max-tokens", "40", "--out", dir + "/" + out]
            if let fault { args += ["--fault", fault] }
            let r = try StrataCLI.runTool("/bin/bash", args)
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + out))
            return try JSONSerialization.jsonObject(with: data) as! [String: Any]
        }
        let clean = try streams("clean.json")
        // The [s] keeps pgrep from matching the shell that runs the command.
        let faulted = try streams("kill.json", fault: "kill -9 $(pgrep -f '[s]trata worker --listen tcp://127.0.0.1:\(ports[2]) ')")

        let want = clean["texts"] as! [String], got = faulted["texts"] as! [String]
        #expect(want.count == 8 && want.allSatisfy { !$0.isEmpty }, "unfaulted run: \(clean)")
        for i in 0..<8 { #expect(got[i] == want[i], "stream \(i) differs after the kill\n\(upLog())") }
        #expect((faulted["errors"] as! [Any]).allSatisfy { $0 is NSNull }, "\(faulted["errors"]!)")
        #expect((faulted["finish"] as! [Any]).allSatisfy { ($0 as? String) == "length" }, "no truncated success: \(faulted["finish"]!)")
        #expect(faulted["resume_seconds"] is Double, "no token after the kill")

        let text = upLog()
        #expect(text.contains("worker lost") && text.contains("w1"), "\(text)")
        #expect(text.contains("restarted worker process"), "\(text)")
        // w1 comes back: three healthy stages again.
        #expect(waitHealthy(http, workers: 3, up: up, rejoined: "w1"), "w1 did not rejoin\n\(upLog())")
        up.interrupt()
        up.waitUntilExit()
        #expect(up.terminationStatus == 0, "\(upLog())")
    }

    /// Waits (≤ 120 s) until /health is ok with `workers` stages each holding layers.
    private func waitHealthy(_ http: Int, workers: Int, up: Process, rejoined: String? = nil) -> Bool {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && up.isRunning {
            if let r = try? StrataCLI.runTool("/usr/bin/curl", ["-s", "http://127.0.0.1:\(http)/health"]),
               let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
               json["status"] as? String == "ok",
               let list = json["workers"] as? [[String: Any]],
               list.filter({ ($0["layer_range"] as? String) != "none" && $0["healthy"] as? Bool == true }).count == workers,
               rejoined.map({ name in list.contains { $0["name"] as? String == name && ($0["layer_range"] as? String) != "none" } }) ?? true {
                return true
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return false
    }
}
