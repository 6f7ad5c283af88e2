import Foundation
import Logging
import StrataCluster
import StrataModel
import StrataTestSupport
import StrataTokenizer
import StrataTransport

/// Which network a cluster test runs over: the same test body runs on both.
enum NetworkKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case inProcess, zeroMQ
    var description: String { rawValue }

    func make() throws -> Network {
        switch self {
        case .inProcess: return InProcessNetwork()
        case .zeroMQ: return ZeroMQNetwork(context: try ZMQContext())
        }
    }

    /// An endpoint to bind with a fresh port.
    var anyPort: String { self == .inProcess ? "mem://node:*" : "tcp://127.0.0.1:*" }
}

/// A coordinator and `workers` Worker objects, each on its own thread, in one process.
final class ClusterHarness {
    let network: Network
    let workers: [Worker]
    let coordinator: Coordinator
    private let group = DispatchGroup()

    init(_ kind: NetworkKind, memory: [Int] = [1 << 30, 1 << 30, 1 << 30], precision: ClusterConfig.Precision = .fp8,
         options: CoordinatorOptions = CoordinatorOptions(joinTimeout: .seconds(30))) throws {
        network = try kind.make()
        var ws: [Worker] = [], entries: [ClusterConfig.Worker] = []
        for (i, m) in memory.enumerated() {
            let w = Worker(network: network, options: WorkerOptions(listen: kind.anyPort, threads: 1, memoryBytes: 1 << 34),
                           logger: quietLogger("strata.worker"))
            let endpoint = try w.bind()
            ws.append(w)
            entries.append(ClusterConfig.Worker(name: "w\(i)", endpoint: endpoint, memoryBytes: m, threads: 1))
        }
        workers = ws
        for w in ws {
            group.enter()
            Thread { [group] in try? w.run(); group.leave() }.start()
        }
        let cluster = ClusterConfig(model: TestAssets.smolLM2,
                                    coordinator: .init(http: "127.0.0.1:0", control: kind.anyPort),
                                    workers: entries, context: 2048, maxBatch: 8, precision: precision)
        coordinator = try Coordinator(cluster: cluster, network: network, options: options, logger: quietLogger("strata.coordinator"))
        do { try coordinator.start() } catch { shutdown(); throw error }
    }

    /// Stops the coordinator and every worker thread.
    func shutdown() {
        coordinator.shutdown(workers: true)
        for w in workers { w.stop() }
        group.wait()
    }
}

/// Warnings and errors only, so test output stays readable.
func quietLogger(_ label: String) -> Logger {
    var l = Logger(label: label)
    l.logLevel = .warning
    return l
}

/// The model, tokenizer and reference prompts shared by the cluster tests (loaded once).
enum SmolLM2 {
    static let prompts = [
        "The capital of France is",
        "Once upon a time, in a small village,",
        "import numpy as np\n\ndef softmax(x):",
        "Q: What is the boiling point of water in Fahrenheit?\nA:",
        "人工智能的未来",
    ]

    nonisolated(unsafe) private static var models: [WeightPrecision: LocalModel] = [:]
    private static let lock = NSLock()

    static func local(_ p: WeightPrecision = .fp8) throws -> LocalModel {
        lock.lock(); defer { lock.unlock() }
        if let m = models[p] { return m }
        let m = try LocalModel(source: ModelSource(path: TestAssets.smolLM2), precision: p, threads: 1)
        models[p] = m
        return m
    }

    static let tokenizer: Tokenizer = try! Tokenizer(gguf: ModelSource(path: TestAssets.smolLM2).gguf!)

    private static let localLock = NSLock()
    nonisolated(unsafe) private static var nextLocalSession: UInt64 = 1 << 40

    /// Greedy (or seeded) tokens from any forward pass. The shared `LocalModel` is not thread-safe
    /// and suites run in parallel, so its uses are serialized and get their own session ids.
    static func generate(_ m: ForwardPass, _ ids: [Int], _ n: Int, sampling: SamplingParameters = .greedy,
                         session: UInt64 = 1) throws -> [Int] {
        var out: [Int] = []
        var id = session
        let isLocal = m is LocalModel
        if isLocal { localLock.lock(); nextLocalSession += 1; id = nextLocalSession }
        defer { if isLocal { localLock.unlock() } }
        try Generator(model: m, stopTokens: []).generate(prompt: ids, maxTokens: n, sampling: sampling, session: id) { out.append($0) }
        return out
    }
}
