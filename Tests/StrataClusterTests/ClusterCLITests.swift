import Foundation
import StrataTestSupport
import StrataTransport
import Testing

/// `strata up` end to end: three worker processes on loopback plus the coordinator print exactly
/// what `strata generate` prints, then the whole cluster exits.
@Suite(.serialized, .enabled(if: TestAssets.available(TestAssets.smolLM2)))
struct ClusterCLITests {
    /// A cluster.yaml for three local workers on free ports.
    static func clusterYAML(extra: String = "") throws -> (path: String, ports: [Int]) {
        let ports = try (0..<4).map { _ in try FreePort.next() }
        let yaml = """
            model: \(TestAssets.smolLM2)
            coordinator:
              http: 127.0.0.1:\(try FreePort.next())
              control: tcp://127.0.0.1:\(ports[0])
            workers:
              - name: w0
                endpoint: tcp://127.0.0.1:\(ports[1])
                memory: 1GiB
              - name: w1
                endpoint: tcp://127.0.0.1:\(ports[2])
                memory: 1GiB
              - name: w2
                endpoint: tcp://127.0.0.1:\(ports[3])
                memory: 1GiB
            context: 2048
            max_batch: 4
            \(extra)
            """
        let path = NSTemporaryDirectory() + "strata-cluster-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, ports)
    }

    static let prompts = [
        "The capital of France is",
        "Once upon a time, in a small village,",
        "import numpy as np\n\ndef softmax(x):",
        "Q: What is the boiling point of water in Fahrenheit?\nA:",
        "人工智能的未来",
    ]

    @Test func upPromptPrintsWhatGenerateDoes() throws {
        let (config, ports) = try Self.clusterYAML()
        defer { try? FileManager.default.removeItem(atPath: config) }
        for p in Self.prompts {
            let args = ["--prompt", p, "--temperature", "0", "--max-tokens", "16"]
            let local = try StrataCLI.run(["generate", "--model", TestAssets.smolLM2, "--threads", "1"] + args)
            let cluster = try StrataCLI.run(["up", "--config", config] + args)
            #expect(local.status == 0 && cluster.status == 0, "\(cluster.stderr)")
            #expect(!cluster.stdout.isEmpty)
            #expect(cluster.stdout == local.stdout, "prompt \(p.debugDescription)")
            #expect(cluster.stderr.contains("generation: "), "\(cluster.stderr)")
        }
        // Every worker process exited with the cluster.
        for port in ports.dropFirst() {
            #expect(!Self.processRunning(containing: "127.0.0.1:\(port)"), "a worker on port \(port) outlived strata up")
        }
    }

    @Test func unreachableWorkerIsANamedError() throws {
        // 192.0.2.1 (TEST-NET-1) is not this machine, so `up` starts no worker for it.
        let path = NSTemporaryDirectory() + "strata-cluster-\(UUID().uuidString).yaml"
        try """
            model: \(TestAssets.smolLM2)
            coordinator:
              http: 127.0.0.1:\(try FreePort.next())
              control: tcp://127.0.0.1:\(try FreePort.next())
            workers:
              - name: faraway
                endpoint: tcp://192.0.2.1:5551
                memory: 1GiB
            context: 512
            max_batch: 1
            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try StrataCLI.run(["up", "--config", path, "--prompt", "hi", "--join-timeout", "2"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("worker faraway did not answer join within 2 s"), "\(r.stderr)")
    }

    @Test func workerRejectsABadEndpoint() throws {
        let r = try StrataCLI.run(["worker", "--listen", "tcp://127.0.0.1:notaport"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("tcp://127.0.0.1:notaport"), "\(r.stderr)")
    }

    static func processRunning(containing text: String) -> Bool {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for d in dirs where Int(d) != nil {
            guard let data = FileManager.default.contents(atPath: "/proc/\(d)/cmdline") else { continue }
            let cmd = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            if cmd.contains("worker") && cmd.contains(text) { return true }
        }
        return false
    }
}
