import Foundation
import StrataTestSupport
import Testing

/// Several Linux boxes, for real: one worker per network namespace, the coordinator in another,
/// joined by veth pairs through a bridge, with `tc netem` delay where the kernel has it
/// (ops/netns-cluster). The completion must equal `strata generate`'s. Needs root; CI runs as root.
@Suite(.serialized, .enabled(if: NetnsEnvironment.canRun, NetnsEnvironment.whyNot))
struct NetnsClusterTests {
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ops/netns-cluster").path
    }

    @Test(arguments: [SmolLM2.prompts[0], SmolLM2.prompts[4]])
    func clusterAcrossNamespacesEqualsGenerate(_ prompt: String) throws {
        let local = try StrataCLI.run(["generate", "--model", TestAssets.smolLM2, "--prompt", prompt,
                                       "--temperature", "0", "--max-tokens", "16"])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Self.script, StrataCLI.executable, TestAssets.smolLM2, prompt, "16", "2ms"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stderrData = Locked(Data())
        let reader = Thread { stderrData.mutate { $0 = err.fileHandleForReading.readDataToEndOfFile() } }
        reader.start()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        while reader.isExecuting || !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        let stderr = String(decoding: stderrData.value, as: UTF8.self)
        #expect(p.terminationStatus == 0, "\(stderr)")
        #expect(!local.stdout.isEmpty && stdout == local.stdout, "\(stderr)")
        #expect(stderr.contains("netns-cluster: "), "the script reports whether netem delay was applied")
    }
}

/// A worker lost while 8 greedy streams run across the namespaces (ops/netns-fault): killed with
/// SIGKILL, or its link cut (`ip link set eth0 down`). Every stream must complete with exactly the
/// text of the unfaulted run; the script reports the time from the fault to the next token.
@Suite(.serialized, .enabled(if: NetnsEnvironment.canRun, NetnsEnvironment.whyNot))
struct NetnsFaultTests {
    static var script: String {
        URL(fileURLWithPath: NetnsClusterTests.script).deletingLastPathComponent().appendingPathComponent("netns-fault").path
    }

    @Test(arguments: ["kill", "cut"])
    func eightStreamsSurviveALostWorker(_ fault: String) throws {
        let r = try StrataCLI.runTool("/bin/bash", [Self.script, StrataCLI.executable, TestAssets.smolLM2, fault, "8", "40"])
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let json = (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: Any] ?? [:]
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(json["equal"] as? Int == 8, "\(last)\n\(r.stderr)")
        #expect((json["errors"] as? [Any])?.isEmpty == true && json["unfinished"] as? Int == 0, "\(last)")
        let resume = json["resume_seconds"] as? Double
        #expect(resume != nil && resume! < 60, "fault → next token: \(String(describing: resume))")
        print("netns \(fault): 8/8 streams equal, fault → next token \(String(format: "%.2f", resume ?? -1)) s")
    }
}

/// cluster.yaml edited while 8 greedy streams run across the namespaces (ops/netns-fault reshard):
/// a 4th worker in its own namespace added, then w1 removed. Both new plans take effect, each
/// moves the open sequences' KV caches between namespaces, and every stream's text is unchanged.
@Suite(.serialized, .enabled(if: NetnsEnvironment.canRun, NetnsEnvironment.whyNot))
struct NetnsReshardTests {
    @Test func addingThenRemovingAWorkerKeepsEveryStream() throws {
        let r = try StrataCLI.runTool("/bin/bash", [NetnsFaultTests.script, StrataCLI.executable, TestAssets.smolLM2, "reshard", "8", "40"])
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let json = (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: Any] ?? [:]
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(json["equal"] as? Int == 8, "\(last)\n\(r.stderr)")
        #expect((json["errors"] as? [Any])?.isEmpty == true && json["unfinished"] as? Int == 0, "\(last)")
        let plans = json["plans"] as? [[String: Any]] ?? []
        #expect(plans.map { $0["stages"] as? String ?? "" } == ["w0[0,8) w1[8,16) w2[16,23) w3[23,30)", "w0[0,10) w2[10,20) w3[20,30)"],
                "\(last)")
        #expect(plans.allSatisfy { ($0["kv"] as? String ?? "").hasPrefix("moved ") }, "KV caches moved, not re-prefilled: \(last)")
        print("netns reshard: \(last)")
    }
}

/// tcpdump on the coordinator's and a worker's veth (ops/netns-capture): without CURVE the model
/// path and the prompt's token ids cross the wire readable; with CURVE neither does, and the
/// completion is the same.
@Suite(.serialized, .enabled(if: NetnsEnvironment.canRun && NetnsEnvironment.hasTcpdump, NetnsEnvironment.whyNot))
struct NetnsCaptureTests {
    @Test func curveLeavesNothingReadableOnTheVeth() throws {
        let script = URL(fileURLWithPath: NetnsFaultTests.script).deletingLastPathComponent().appendingPathComponent("netns-capture").path
        let r = try StrataCLI.runTool("/bin/bash", [script, StrataCLI.executable, TestAssets.smolLM2])
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let json = (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: [String: Any]] ?? [:]
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(json["plain"]?["model_path"] as? Bool == true && json["plain"]?["prompt_ids"] as? Bool == true, "the capture must see plaintext: \(last)")
        #expect(json["curve"]?["model_path"] as? Bool == false && json["curve"]?["prompt_ids"] as? Bool == false, "\(last)")
        #expect((json["curve"]?["bytes"] as? Int ?? 0) > 10_000, "the CURVE capture saw the traffic: \(last)")
    }
}

/// Whether this machine can create network namespaces (root + iproute2), and why not.
enum NetnsEnvironment {
    static let isRoot = getuid() == 0
    static let hasIP = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
    static var canRun: Bool { isRoot && hasIP && TestAssets.available(TestAssets.smolLM2) }
    static let hasTcpdump = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    static var whyNot: Comment {
        !isRoot ? "network-namespace test skipped: needs root (CAP_NET_ADMIN); CI runs it as root"
            : !hasIP ? "network-namespace test skipped: iproute2 (ip) is not installed" : "SmolLM2 asset missing"
    }
}
