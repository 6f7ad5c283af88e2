import Foundation
import StrataKernels
import StrataTestSupport
import StrataCluster
import StrataTransport
import StrataWire
import Testing

/// The cluster keeps every request alive through changes of shape, with `strata up` serving three
/// local worker processes and 8 concurrent greedy streams from the official `openai` client
/// (ops/fault-streams): each stream must end with exactly the text of an unfaulted run.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct RecoveryCLITests {
    /// SIGKILL of a worker: the coordinator re-plans over the survivors and re-prefills each
    /// sequence from its kept tokens; `strata up` starts the worker again, it rejoins, and the
    /// cluster is back to three healthy stages.
    @Test func streamsSurviveAKilledWorkerAndItRejoins() throws {
        let rig = try UpRig(workers: 3)
        defer { rig.stop() }
        let clean = try rig.streams("clean.json")
        // The [s] keeps pgrep from matching the shell that runs the command.
        let faulted = try rig.streams("kill.json", fault: "kill -9 $(pgrep -f '[s]trata worker --listen tcp://127.0.0.1:\(rig.ports[2]) ')")
        rig.expectSame(clean, faulted, "after the kill")
        #expect(faulted["resume_seconds"] is Double, "no token after the kill")
        let text = rig.log()
        #expect(text.contains("worker lost") && text.contains("w1"), "\(text)")
        #expect(text.contains("restarted worker process"), "\(text)")
        #expect(rig.waitHealthy(stages: 3, including: "w1"), "w1 did not rejoin\n\(rig.log())")
        #expect(rig.interrupt() == 0, "\(rig.log())")
    }

    /// cluster.yaml edited while streams run: a 4th worker added (the new plan uses it), then a
    /// worker removed (it drains and exits). No request fails; outputs are unchanged.
    @Test func streamsSurviveAddingAndRemovingWorkers() throws {
        let rig = try UpRig(workers: 3, spare: 1)
        defer { rig.stop() }
        let clean = try rig.streams("clean.json")
        let added = try rig.streams("add.json", fault: "cp \(rig.dir)/four.yaml \(rig.config)")
        rig.expectSame(clean, added, "after adding w3")
        #expect(rig.waitHealthy(stages: 4, including: "w3"), "the plan does not use w3\n\(rig.log())")
        let removed = try rig.streams("remove.json", fault: "cp \(rig.dir)/without-w1.yaml \(rig.config)")
        rig.expectSame(clean, removed, "after removing w1")
        #expect(rig.waitHealthy(stages: 3, including: "w3"), "\(rig.log())")
        let text = rig.log()
        #expect(text.contains("added=[\"w3\"]") && text.contains("removed=[\"w1\"]"), "\(text)")
        // w1 drained and exited; it was not restarted.
        #expect(rig.workerRunning(port: rig.ports[2]) == false, "w1 still runs\n\(text)")
        #expect(!text.contains("restarted worker process"), "\(text)")
        // Both re-shards moved the open sequences' KV caches rather than re-prefilling them.
        #expect(text.components(separatedBy: "kv=moved").count - 1 >= 2 && !text.contains("move incomplete"), "\(text)")
        #expect(rig.interrupt() == 0, "\(rig.log())")
    }
}

/// CURVE on every link of a served cluster (keys from `strata keys generate`, listed in
/// cluster.yaml): requests are served as without it, and a stranger with an unlisted key can
/// neither inject a batch into a worker nor talk to the coordinator — both refuse and log it.
/// A re-shard moves KV caches between workers over CURVE links too.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct SecuredClusterCLITests {
    @Test func securedClusterServesAndRefusesStrangers() throws {
        let rig = try UpRig(workers: 3, secured: true)
        defer { rig.stop() }
        let run = try rig.streams("secured.json")
        let texts = run["texts"] as? [String] ?? []
        #expect(texts.count == 8 && texts.allSatisfy { !$0.isEmpty }, "\(run)")
        #expect((run["errors"] as? [Any] ?? []).allSatisfy { $0 is NSNull }, "\(run)")

        // A stranger that knows the servers' public keys but holds an unlisted key of its own.
        let stranger = try CurveKeyPair.generate()
        let w0 = "tcp://127.0.0.1:\(rig.ports[1])", control = "tcp://127.0.0.1:\(rig.ports[0])"
        let network = try ZeroMQNetwork(context: try ZMQContext(), curve: CurveSecurity(
            keyPair: stranger, allowedClients: [], serverKeys: [w0: rig.publicKeys["w0"]!, control: rig.publicKeys["coordinator"]!]))
        var batch = Strata_V1_Batch()
        batch.batchID = 424242
        let toWorker = try network.connect(w0), toCoordinator = try network.connect(control)
        try? toWorker.send(WireMessage(.batch(batch)), deadline: .now + .seconds(2))
        try? toCoordinator.send(Handshake.hello(workerName: "w1", capabilities: WorkerCapabilities.detect(memoryBytes: 1 << 30, threads: 1)),
                                deadline: .now + .seconds(2))
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && rig.log().components(separatedBy: "refused a peer").count - 1 < 2 { Thread.sleep(forTimeInterval: 0.25) }
        let text = rig.log()
        #expect(text.components(separatedBy: "refused a peer").count - 1 >= 2, "worker and coordinator must both refuse\n\(text)")
        #expect(text.contains(Z85.encode(stranger.publicKey)), "the refused key is logged\n\(text)")
        #expect(!text.contains("424242"), "the stranger's batch reached a worker\n\(text)")
        toWorker.close(); toCoordinator.close()
        // Still serving, still healthy.
        let again = try rig.streams("again.json")
        #expect((again["texts"] as? [String]) == texts)
        // A re-shard under CURVE: w1's KV blocks reach its neighbours (they trust every listed worker).
        let removed = try rig.streams("remove.json", fault: "cp \(rig.dir)/without-w1.yaml \(rig.config)")
        rig.expectSame(run, removed, "after removing w1")
        #expect(rig.waitHealthy(stages: 2, including: "w2"), "\(rig.log())")
        #expect(rig.log().contains("kv=moved") && !rig.log().contains("move incomplete"), "\(rig.log())")
        #expect(rig.interrupt() == 0, "\(rig.log())")
    }
}

/// `strata up` on a temporary cluster.yaml of N local workers (heartbeat 250ms / 3s), with
/// variants of the file for the reconfiguration test: four.yaml (one spare added) and
/// without-w1.yaml (that, minus w1).
struct UpRig {
    let dir: String
    let config: String
    let http: Int
    let ports: [Int]   // control, then one per worker (spares included)
    let up = Process()
    /// Public keys (with `secured`), by worker name and "coordinator".
    var publicKeys: [String: [UInt8]] = [:]

    /// `extra`: more cluster.yaml lines (e.g. drain_timeout); `model`: another model path;
    /// `upArguments`: more `strata up` options.
    init(workers: Int, spare: Int = 0, secured: Bool = false, context: Int = 512, extra: String = "",
         model: String = TestAssets.smolLM2, upArguments: [String] = [], waitUntilHealthy: Bool = true) throws {
        http = try FreePort.next()
        ports = try (0...(workers + spare)).map { _ in try FreePort.next() }
        dir = NSTemporaryDirectory() + "strata-recovery-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        config = dir + "/cluster.yaml"
        let ports = self.ports, http = self.http, dir = self.dir
        var keys: [String: [UInt8]] = [:]
        if secured {
            for name in ["coordinator"] + (0..<(workers + spare)).map({ "w\($0)" }) {
                let r = try StrataCLI.run(["keys", "generate", "--out", "\(dir)/\(name).key"])
                let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("public key: ") } ?? ""
                keys[name] = Z85.decodeKey(String(line.dropFirst("public key: ".count)))
            }
        }
        publicKeys = keys
        let security = secured ? "security:\n  coordinator_key: \"\(Z85.encode(keys["coordinator"]!))\"\n  coordinator_secret_file: \(dir)/coordinator.key\n" : ""
        func workerYAML(_ i: Int) -> String {
            var text = "  - name: w\(i)\n    endpoint: tcp://127.0.0.1:\(ports[i + 1])\n    memory: 2GiB\n    threads: 1"
            // Quoted: a Z85 key may hold ':' or start with a YAML indicator.
            if secured { text += "\n    key: \"\(Z85.encode(keys["w\(i)"]!))\"\n    secret_file: \(dir)/w\(i).key" }
            return text
        }
        func yaml(_ names: [Int]) -> String {
            """
            model: \(model)
            coordinator:
              http: 127.0.0.1:\(http)
              control: tcp://127.0.0.1:\(ports[0])
            \(security)workers:
            \(names.map(workerYAML).joined(separator: "\n"))
            context: \(context)
            max_batch: 8
            heartbeat:
              interval: 250ms
              timeout: 3s
            \(extra)
            """
        }
        try yaml(Array(0..<workers)).write(toFile: config, atomically: true, encoding: .utf8)
        try yaml(Array(0..<(workers + spare))).write(toFile: dir + "/four.yaml", atomically: true, encoding: .utf8)
        try yaml(Array(0..<(workers + spare)).filter { $0 != 1 }).write(toFile: dir + "/without-w1.yaml", atomically: true, encoding: .utf8)
        try #require(FileManager.default.createFile(atPath: dir + "/up.log", contents: nil), "cannot create \(dir)/up.log")
        up.executableURL = URL(fileURLWithPath: StrataCLI.executable)
        up.arguments = ["up", "--config", config, "--log-level", "notice", "--lanes", "1"] + upArguments
        up.standardError = FileHandle(forWritingAtPath: dir + "/up.log")!
        try up.run()
        if waitUntilHealthy { #expect(waitHealthy(stages: workers), "the cluster did not become healthy\n\(log())") }
    }

    func log() -> String { (try? String(contentsOfFile: dir + "/up.log", encoding: .utf8)) ?? "" }

    /// 8 concurrent greedy streams of 40 tokens; `fault` runs once every stream has 8 chunks.
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

    /// Every stream of `got` equals `want`'s, none failed, none ended early.
    func expectSame(_ want: [String: Any], _ got: [String: Any], _ what: String) {
        let a = want["texts"] as? [String] ?? [], b = got["texts"] as? [String] ?? []
        #expect(a.count == 8 && a.allSatisfy { !$0.isEmpty }, "unfaulted run: \(want)")
        for i in 0..<min(a.count, b.count) { #expect(b[i] == a[i], "stream \(i) differs \(what)\n\(log())") }
        #expect((got["errors"] as? [Any] ?? []).allSatisfy { $0 is NSNull }, "\(what): \(got["errors"] ?? "")")
        #expect((got["finish"] as? [Any] ?? []).allSatisfy { ($0 as? String) == "length" }, "\(what): no truncated success \(got["finish"] ?? "")")
    }

    /// Waits (≤ 120 s) until /health is ok with `stages` workers holding layers (and `name` among them).
    func waitHealthy(stages: Int, including name: String? = nil) -> Bool {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && up.isRunning {
            if let r = try? StrataCLI.runTool("/usr/bin/curl", ["-s", "http://127.0.0.1:\(http)/health"]),
               let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
               json["status"] as? String == "ok", let list = json["workers"] as? [[String: Any]] {
                let holding = list.filter { ($0["layer_range"] as? String) != "none" && $0["healthy"] as? Bool == true }
                    .compactMap { $0["name"] as? String }
                if holding.count == stages && (name.map(holding.contains) ?? true) {
                    // Every joined worker says which kernel variant it runs (its Hello, /health).
                    let variants = list.filter { holding.contains($0["name"] as? String ?? "") }.map { $0["kernel_variant"] as? String }
                    #expect(variants.allSatisfy { $0 == Kernels.active.isa.rawValue }, "kernel_variant in /health: \(variants)")
                    return true
                }
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return false
    }

    func workerRunning(port: Int) -> Bool {
        ((try? StrataCLI.runTool("/usr/bin/pgrep", ["-f", "[s]trata worker --listen tcp://127.0.0.1:\(port) "]))?.status ?? 1) == 0
    }

    /// Ctrl-C; the exit status.
    func interrupt() -> Int32 {
        up.interrupt()
        up.waitUntilExit()
        return up.terminationStatus
    }

    func stop() {
        if up.isRunning { up.terminate(); up.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
