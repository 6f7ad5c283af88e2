import ArgumentParser
import Foundation
import Logging
import StrataCluster
import StrataModel
import StrataTransport
import StrataWire

/// `strata bench pipeline`: single-stream decode through N loopback worker processes ÷ the same
/// decode in one process, measured in one run (interleaved), plus per-hop bytes and latency.
/// A single stream visits the stages one after another, so the ideal ratio is 1 minus the hops'
/// cost: pipelining buys capacity (several streams at once), never single-stream speed.
struct BenchPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Single-stream decode through loopback workers vs one process; per-hop bytes and latency.")

    @Option(help: "A .gguf file or an HF model directory.")
    var model: String
    @Option(help: "Worker processes (pipeline stages).")
    var workers: Int = 3
    @Option(help: "Threads per worker and for the one-process run (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Tokens decoded per run.")
    var tokens: Int = 64
    @Option(help: "Runs of each; medians are reported.")
    var runs: Int = 5
    @Option(help: "Empty batches sent around the ring to time the hops.")
    var pings: Int = 200
    @Option(help: "Prompt to decode from.")
    var prompt: String = "The history of the printing press begins"
    @Option(help: "Weights: fp8 or f32.")
    var weights: WeightPrecision = .fp8

    func validate() throws {
        guard workers >= 1, threads >= 1, tokens >= 2, runs >= 1, pings >= 1 else {
            throw ValidationError("--workers, --threads, --runs, --pings must be ≥ 1 and --tokens ≥ 2")
        }
    }

    func run() throws {
        CLILogging.bootstrap(.warning)
        let (tokenizer, _) = try Completion.tokenizer(modelPath: model)
        let ids = tokenizer.encode(prompt)
        let local = try LocalModel(source: ModelSource(path: model), precision: weights, threads: threads)

        let control = "tcp://127.0.0.1:\(try FreePort.next())"
        let members = try (0..<workers).map { i in
            ClusterConfig.Worker(name: "w\(i)", endpoint: "tcp://127.0.0.1:\(try FreePort.next())",
                                 memoryBytes: 1 << 40, threads: threads)
        }
        let cluster = ClusterConfig(model: model, coordinator: .init(http: "127.0.0.1:0", control: control),
                                    workers: members, context: max(256, ids.count + tokens + 1), maxBatch: 1,
                                    precision: weights == .f32 ? .f32 : .fp8)
        let children = try LocalWorkers.start(members, logLevel: .warning)
        let coordinator = try Coordinator(cluster: cluster, network: ZeroMQNetwork(context: try ZMQContext()))
        children.onUnexpectedExit = { name, status in
            coordinator.abort(.workerFailed(worker: name, reason: "process exited with status \(status)"))
        }
        defer { children.expectExit(); coordinator.shutdown(workers: true); children.stop() }
        try coordinator.start()
        let pipeline = ClusterModel(coordinator: coordinator)

        print("model: \(model), \(weights.rawValue), \(workers) workers × \(threads) threads, \(tokens) tokens × \(runs) runs")
        print("plan: " + coordinator.plan.stages.map { "\($0.worker)[\($0.layerRange.lowerBound),\($0.layerRange.upperBound))" }.joined(separator: " "))
        var localRates: [Double] = [], pipeRates: [Double] = []
        var reference: [Int]?
        for r in 0..<runs {
            for (which, m) in [(0, local as ForwardPass), (1, pipeline as ForwardPass)] {
                var out: [Int] = []
                let stats = try Generator(model: m, stopTokens: []).generate(
                    prompt: ids, maxTokens: tokens, sampling: .greedy, session: UInt64(10 * r + which + 1)) { out.append($0) }
                if let reference, reference != out {
                    throw ValidationError("the pipeline's tokens differ from one process's: split invariance is broken")
                }
                reference = out
                (which == 0 ? { localRates.append($0) } : { pipeRates.append($0) })(stats.generationTokensPerSecond)
            }
        }
        let ring = try pingRing(coordinator)
        let hops = workers + 1
        let hidden = coordinator.model.hiddenSize
        let header = try headerBytes(hidden: hidden)
        print("one_process_decode_tok_s: \(fmt(median(localRates)))  (runs: \(localRates.map(fmt).joined(separator: " ")))")
        print("pipeline_decode_tok_s: \(fmt(median(pipeRates)))  (runs: \(pipeRates.map(fmt).joined(separator: " ")))")
        print("hop_bytes_per_decode_token: \(hidden * 4 + header) (activations \(hidden * 4) f32 + header \(header)); last hop carries token ids only")
        print("ring_latency_ms_median: \(String(format: "%.3f", ring * 1e3)) over \(hops) hops, empty batches")
        print("hop_latency_ms_median: \(String(format: "%.3f", ring * 1e3 / Double(hops)))")
        print("pipeline_ratio: \(String(format: "%.3f", median(pipeRates) / median(localRates)))")
    }

    /// Median round trip of an empty batch through every stage and back.
    private func pingRing(_ c: Coordinator) throws -> Double {
        var times: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<pings {
            var b = Strata_V1_Batch()
            b.batchID = c.makeBatchID()
            let t0 = clock.now
            _ = try c.submit(b)!.wait()
            let d = t0.duration(to: clock.now)
            times.append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
        }
        return median(times)
    }

    /// Header frame bytes of a one-token decode batch between stages.
    private func headerBytes(hidden: Int) throws -> Int {
        var e = Strata_V1_SequenceEntry()
        e.sequenceID = 12345
        e.firstPosition = 100
        e.tokenCount = 1
        e.kvOps = [Strata_V1_KVOp.with { $0.append = .init() }]
        e.sample = true
        e.sampling.topP = 1
        e.sampling.repetitionPenalty = 1
        var b = Strata_V1_Batch()
        b.batchID = 1000
        b.planID = .max
        b.sequences = [e]
        let tensor = WireTensor(encoding: [Float](repeating: 0, count: hidden), shape: [1, hidden])
        return try WireCodec().encode(WireMessage(.batch(b), tensors: [tensor]))[0].count
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
