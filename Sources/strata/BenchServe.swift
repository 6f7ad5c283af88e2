import ArgumentParser
import Foundation
import StrataCluster

/// `strata bench serve`: concurrent streaming completions against a running OpenAI-compatible
/// server (`--url`), or against a cluster it starts with `strata up --config` (`--config`).
/// Reports, per concurrency level, aggregate tokens/s (end to end, and decode only: tokens after each
/// stream's first over the window from the earliest first token to the last token), per-stream
/// decode tokens/s and TTFT percentiles, and the ratios of the highest level to one stream (rounds
/// of the two levels alternate; each ratio is the median of the per-round ratios).
struct BenchServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Concurrent streaming requests against the OpenAI API: tokens/s and TTFT percentiles.")

    @Option(help: "Base URL of a running server, e.g. http://127.0.0.1:8080.")
    var url: String?
    @Option(help: "cluster.yaml to start with `strata up` when no --url is given.")
    var config: String = "cluster.yaml"
    @Option(help: "Concurrent streams (the top level; 1 is always measured too).")
    var concurrency: Int = 8
    @Option(help: "Tokens per request.")
    var tokens: Int = 64
    @Option(help: "Rounds per level; medians over rounds are reported.")
    var rounds: Int = 3
    @Option(help: "Bearer API key, if the server needs one.")
    var apiKey: String?
    @Option(help: "Batches in flight (`strata up --lanes`) when it starts the cluster; default: up's.")
    var lanes: Int?

    static let prompts = [
        "The history of the printing press begins", "Once upon a time, in a small village,",
        "The three laws of thermodynamics are", "A good recipe for bread needs", "In the year 2050, cities will",
        "The most important idea in computer science is", "Mountains are formed when", "The best way to learn a language is",
    ]

    struct StreamResult { var ttft: Double; var tokens: Int; var decodeSeconds: Double; var end: Double }

    func validate() throws {
        guard concurrency >= 1, tokens >= 2, rounds >= 1 else { throw ValidationError("--concurrency, --rounds ≥ 1, --tokens ≥ 2") }
    }

    func run() throws {
        var child: Process?
        let base: String
        if let url { base = url } else {
            let cluster = try ClusterConfig.load(path: config, homeDirectory: NSHomeDirectory())
            base = "http://\(cluster.coordinator.http)"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            p.arguments = ["up", "--config", config, "--log-level", "warning"] + (lanes.map { ["--lanes", "\($0)"] } ?? [])
            try p.run()
            child = p
        }
        defer { if let child, child.isRunning { child.interrupt(); child.waitUntilExit() } }
        let client = try HTTPStreamClient(url: base)
        let model = try client.waitForModel(child: child, headers: auth())
        print("server: \(base), model: \(model), \(tokens) tokens per request, \(rounds) rounds")
        // Rounds alternate between the levels (1, N, 1, N, …), so a machine that drifts (a shared
        // box) weighs on both alike; the ratios are medians of each round's N-vs-1 ratio.
        let levels = Array(Set([1, concurrency])).sorted()
        var rates: [Int: [Double]] = [:], decodeRates: [Int: [Double]] = [:]
        var perStream: [Int: [Double]] = [:], ttfts: [Int: [Double]] = [:]
        for _ in 0..<rounds {
            for level in levels {
                let t0 = Date()
                let results = try runLevel(client, model: model, level: level)
                let wall = (results.map(\.end).max() ?? 0) - t0.timeIntervalSince1970
                rates[level, default: []].append(Double(results.reduce(0) { $0 + $1.tokens }) / wall)
                // Decode: every token after each stream's first, over the window from the earliest
                // first token to the last token of any stream (prefill of late joiners included).
                let window = (results.map(\.end).max() ?? 0) - (results.map { $0.end - $0.decodeSeconds }.min() ?? 0)
                decodeRates[level, default: []].append(Double(results.reduce(0) { $0 + max($1.tokens - 1, 0) }) / max(window, 1e-9))
                perStream[level, default: []] += results.map { Double(max($0.tokens - 1, 0)) / max($0.decodeSeconds, 1e-9) }
                ttfts[level, default: []] += results.map(\.ttft)
            }
        }
        for level in levels {
            let t = ttfts[level]!
            print("concurrency \(level): aggregate \(fmt(median(rates[level]!))) tok/s (decode \(fmt(median(decodeRates[level]!)))), "
                + "per stream \(fmt(median(perStream[level]!))) tok/s, "
                + "TTFT p50 \(ms(percentile(t, 0.5))) p90 \(ms(percentile(t, 0.9))) p99 \(ms(percentile(t, 0.99))) ms")
        }
        func pairedRatio(_ r: [Int: [Double]]) -> String {
            String(format: "%.2f", median(zip(r[concurrency]!, r[1]!).map { $0 / $1 }))
        }
        print("serve_throughput_ratio_c\(concurrency)_vs_c1: \(pairedRatio(rates))")
        print("serve_decode_throughput_ratio_c\(concurrency)_vs_c1: \(pairedRatio(decodeRates))")
    }

    private func ms(_ s: Double) -> String { String(format: "%.0f", s * 1000) }

    private func auth() -> [String: String] { apiKey.map { ["Authorization": "Bearer \($0)"] } ?? [:] }

    private func runLevel(_ client: HTTPStreamClient, model: String, level: Int) throws -> [StreamResult] {
        let results = LockedArray<StreamResult>()
        let failures = LockedArray<String>()
        // One thread per stream (concurrentPerform would run only as many as there are cores).
        let group = DispatchGroup()
        for i in 0..<level {
            group.enter()
            Thread {
                do { results.append(try stream(client, model: model, prompt: Self.prompts[i % Self.prompts.count])) } catch {
                    failures.append("\(error)")
                }
                group.leave()
            }.start()
        }
        group.wait()
        if let f = failures.items.first { throw ValidationError("a stream failed: \(f)") }
        return results.items
    }

    private func stream(_ client: HTTPStreamClient, model: String, prompt: String) throws -> StreamResult {
        let body: [String: Any] = ["model": model, "prompt": prompt, "max_tokens": tokens, "temperature": 0,
                                   "stream": true, "ignore_eos": true, "stream_options": ["include_usage": true]]
        let start = Date().timeIntervalSince1970
        var first: Double?, last = start, count = 0, usage: Int?
        var errorText = ""
        let status = try client.request(method: "POST", path: "/v1/completions", body: try JSONSerialization.data(withJSONObject: body),
                                        headers: auth()) { line in
            errorText += line
            guard line.hasPrefix("data: "), line != "data: [DONE]",
                  let json = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any] else { return }
            if let u = json["usage"] as? [String: Any], let c = u["completion_tokens"] as? Int { usage = c }
            if let choices = json["choices"] as? [[String: Any]], let text = choices.first?["text"] as? String, !text.isEmpty {
                let now = Date().timeIntervalSince1970
                if first == nil { first = now }
                last = now
                count += 1
            }
        }
        guard status == 200 else { throw ValidationError("HTTP \(status): \(errorText.prefix(300))") }
        let f = first ?? last
        return StreamResult(ttft: f - start, tokens: usage ?? count, decodeSeconds: last - f, end: last)
    }
}

func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))]
}

final class LockedArray<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [T] = []
    func append(_ x: T) { lock.lock(); storage.append(x); lock.unlock() }
    var items: [T] { lock.lock(); defer { lock.unlock() }; return storage }
}

