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

/// Whether this machine can create network namespaces (root + iproute2), and why not.
enum NetnsEnvironment {
    static let isRoot = getuid() == 0
    static let hasIP = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
    static var canRun: Bool { isRoot && hasIP && TestAssets.available(TestAssets.smolLM2) }
    static var whyNot: Comment {
        !isRoot ? "network-namespace test skipped: needs root (CAP_NET_ADMIN); CI runs it as root"
            : !hasIP ? "network-namespace test skipped: iproute2 (ip) is not installed" : "SmolLM2 asset missing"
    }
}
