import ArgumentParser
import Foundation
import StrataCluster

/// `strata bench load`: heavy prompts against a cluster it starts with `strata up`. One short
/// greedy stream runs while `--prompts` long greedy prompts (slices of `--text`, `--prompt-tokens`
/// each) arrive at once. Run twice — unchunked (`--max-step-tokens 0`), then with the step budget
/// (cluster.yaml's `max_step_tokens` or its default, or `--max-step-tokens`) — each on a fresh
/// cluster. Checks, and says in its last line `load_ok: true|false`:
/// - every long request completes with exactly the text it gets alone (unchunked, one at a time);
/// - no worker is declared lost (the cluster's log);
/// - with the budget, the short stream's longest gap between two tokens ≤ `--max-gap` seconds;
/// - prefill tokens/s with the budget ≥ `--min-prefill-ratio` × unchunked (Σ prompt tokens over
///   the time from submitting the prompts to the last one's first token).
/// - every worker's heartbeat age in /health (polled every 0.5 s while the load runs) ≤
///   `--max-heartbeat-age` seconds in both runs (with `--kills`, only in the unchunked one).
/// `--only-chunked` skips the unchunked run and the solo texts (a model too large to run each
/// prompt alone and unchunked in reasonable time): then the texts are not judged.
/// With `--kills N`, the chunked run also SIGKILLs N local workers one after another while the
/// prompts prefill (`strata up` restarts each; it rejoins): the texts must still be the solo ones,
/// and exactly N losses are expected.
struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Long prompts plus a running stream on a cluster, unchunked vs chunked: same texts, no loss, bounded gaps.")

    @Option(help: "cluster.yaml of the cluster to start with `strata up`.")
    var config: String = "cluster.yaml"
    @Option(help: "Concurrent long prompts.")
    var prompts: Int = 8
    @Option(help: "Tokens per long prompt.")
    var promptTokens: Int = 3500
    @Option(help: "Tokens generated per long prompt.")
    var tokens: Int = 64
    @Option(help: "Text the prompts are cut from.")
    var text: String = "/usr/share/common-licenses/GPL-3"
    @Option(help: "Step budget of the chunked run (default: the cluster's).")
    var maxStepTokens: Int?
    @Option(help: "Longest allowed gap (seconds) between the short stream's tokens in the chunked run.")
    var maxGap: Double = 2
    @Option(help: "Least allowed prefill throughput of the chunked run ÷ the unchunked one.")
    var minPrefillRatio: Double = 0.9
    @Option(help: "Keep the clusters' logs in this directory (default: a temporary one, removed).")
    var logDir: String?
    @Option(help: "Largest allowed heartbeat age (seconds) of any worker in /health while the load runs.")
    var maxHeartbeatAge: Double = 2
    @Flag(help: "Only the chunked run, without solo texts or the unchunked comparison (for big models).")
    var onlyChunked = false
    @Option(help: "Workers to SIGKILL, one after another, during the chunked run (0: none).")
    var kills: Int = 0
    @Option(help: "Seconds between the kills (the first comes this long after the prompts are sent).")
    var killInterval: Double = 4

    func validate() throws {
        guard prompts >= 1, promptTokens >= 2, tokens >= 1 else { throw ValidationError("--prompts, --tokens ≥ 1; --prompt-tokens ≥ 2") }
        guard kills >= 0, killInterval > 0 else { throw ValidationError("--kills ≥ 0, --kill-interval > 0") }
        if let maxStepTokens, maxStepTokens < 1 { throw ValidationError("--max-step-tokens must be at least 1") }
    }

    func run() throws {
        let cluster = try ClusterConfig.load(path: config, homeDirectory: NSHomeDirectory())
        guard promptTokens + tokens <= cluster.context else {
            throw ValidationError("--prompt-tokens + --tokens (\(promptTokens + tokens)) exceed the cluster's context (\(cluster.context))")
        }
        let longPrompts = try cutPrompts(modelPath: cluster.modelPath)
        let local = cluster.workers.filter { LocalWorkers.isLocal($0.endpoint) }.map { LocalWorkers.bindable($0.endpoint) }
        guard kills == 0 || local.count >= 2 else { throw ValidationError("--kills needs at least two local workers in \(config)") }
        // Not the first stage's: killing the last one or a middle one in turn, never the same twice in a row.
        let victims = (0..<kills).map { local[local.count - 1 - ($0 % (local.count - 1))] }
        let dir = logDir ?? NSTemporaryDirectory() + "strata-bench-load-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if logDir == nil { try? FileManager.default.removeItem(atPath: dir) } }
        print("cluster: \(config), \(prompts) prompts × \(promptTokens) tokens (+ \(tokens) out) and one short stream; logs in \(dir)")

        let unchunked = onlyChunked ? LoadRun.Outcome(name: "unchunked (skipped)")
            : try LoadRun(bench: self, http: cluster.coordinator.http, context: cluster.context, prompts: longPrompts,
                          maxStepTokens: 0, log: dir + "/unchunked.log").run(solo: true)
        let chunked = try LoadRun(bench: self, http: cluster.coordinator.http, context: cluster.context, prompts: longPrompts,
                                  maxStepTokens: maxStepTokens, log: dir + "/chunked.log", victims: victims).run(solo: false)
        for r in onlyChunked ? [chunked] : [unchunked, chunked] { print(r.summary) }

        let solo = unchunked.solo
        var equal = 0, compared = 0
        for r in onlyChunked ? [] : [unchunked, chunked] {
            for (i, t) in r.texts.enumerated() {
                compared += 1
                if t == solo[i] { equal += 1 } else { print("\(r.name): prompt \(i) differs from its solo text") }
            }
        }
        let ratio = onlyChunked ? 1 : chunked.prefillRate / max(unchunked.prefillRate, 1e-9)
        let age = max(unchunked.maxHeartbeatAge, kills > 0 ? 0 : chunked.maxHeartbeatAge)
        let lost = unchunked.lost + max(0, chunked.lost - kills)
        let errors = unchunked.errors + chunked.errors
        if !onlyChunked { print("texts_equal_solo: \(equal)/\(compared)") }
        print("max_heartbeat_age_seconds: \(fmt(age))")
        print("errors: \(errors.count)\(errors.first.map { " (first: \($0))" } ?? "")")
        print("workers_lost: \(lost)\(kills > 0 ? " (besides the \(kills) killed; chunked run lost \(chunked.lost))" : "")")
        print("short_stream_max_gap_seconds: \(fmt(chunked.maxGap))" + (onlyChunked ? "" : " (unchunked \(fmt(unchunked.maxGap)))"))
        if !onlyChunked { print("prefill_ratio_chunked_vs_unchunked: \(String(format: "%.2f", ratio))") }
        // With kills, the gap and the prefill rate include recovery: reported, not judged.
        let ok = equal == compared && errors.isEmpty && lost == 0 && chunked.lost == kills && age <= maxHeartbeatAge
            && (kills > 0 || (chunked.maxGap <= maxGap && ratio >= minPrefillRatio))
        print("load_ok: \(ok)")
        if !ok { throw ExitCode(1) }
    }

    /// `prompts` slices of the text's tokens, `promptTokens` each, spread over the text.
    private func cutPrompts(modelPath: String) throws -> [[Int]] {
        let (tokenizer, _) = try Completion.tokenizer(modelPath: modelPath)
        guard let body = try? String(contentsOfFile: text, encoding: .utf8) else { throw ValidationError("cannot read --text \(text)") }
        let ids = tokenizer.encode(body, addSpecialTokens: false)
        guard ids.count >= promptTokens else {
            throw ValidationError("--text \(text) has \(ids.count) tokens, fewer than --prompt-tokens \(promptTokens)")
        }
        let span = ids.count - promptTokens
        return (0..<prompts).map { i in
            let start = prompts == 1 ? 0 : span * i / (prompts - 1)
            return Array(ids[start..<(start + promptTokens)])
        }
    }
}

/// One cluster started for `strata bench load`, and what it measured.
struct LoadRun {
    let bench: BenchLoad
    let http: String
    /// The cluster's context: the short stream asks for nearly all of it (it is stopped once
    /// every long prompt has its first token).
    let context: Int
    let prompts: [[Int]]
    /// nil: the cluster's own budget; 0: no limit.
    let maxStepTokens: Int?
    let log: String
    /// Worker endpoints to SIGKILL one after another once the prompts are sent.
    var victims: [String] = []

    var name: String { maxStepTokens == 0 ? "unchunked" : "chunked" }

    struct Outcome {
        var name = ""
        var solo: [String] = []
        var texts: [String] = []
        var errors: [String] = []
        var prefillRate = 0.0
        var prefillSeconds = 0.0
        var maxGap = 0.0
        var shortTokens = 0
        var lost = 0
        var maxHeartbeatAge = 0.0

        var summary: String {
            "\(name): prefill \(fmt(prefillRate)) tok/s (\(fmt(prefillSeconds)) s to the last first token); short stream "
                + "\(shortTokens) tokens, longest gap \(fmt(maxGap)) s; largest heartbeat age \(fmt(maxHeartbeatAge)) s; "
                + "workers lost: \(lost); errors: \(errors.count)"
        }
    }

    func run(solo: Bool) throws -> Outcome {
        guard FileManager.default.createFile(atPath: log, contents: nil) else { throw ValidationError("cannot write \(log)") }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["up", "--config", bench.config, "--log-level", "notice", "--lanes", "1"]
            + (maxStepTokens.map { ["--max-step-tokens", "\($0)"] } ?? [])
        child.standardError = FileHandle(forWritingAtPath: log)
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        defer { if child.isRunning { child.interrupt(); child.waitUntilExit() } }
        let client = try HTTPStreamClient(url: "http://\(http)")
        let model = try client.waitForModel(child: child, timeout: 300, log: log)
        var out = Outcome(name: name)
        if solo {
            for p in prompts {
                let r = try LoadStream.run(client, model: model, prompt: .tokens(p), maxTokens: bench.tokens)
                if let e = r.error { throw ValidationError("solo request failed: \(e)") }
                out.solo.append(r.text)
            }
        }
        try loaded(client, model: model, into: &out)
        child.interrupt()
        child.waitUntilExit()
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        out.lost = text.components(separatedBy: "worker lost").count - 1
        return out
    }

    /// The short stream, then every long prompt at once; the short one ends once every long
    /// prompt has its first token.
    private func loaded(_ client: HTTPStreamClient, model: String, into out: inout Outcome) throws {
        let prefilled = Counter()
        let shortDone = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let shortBox = LockedArray<LoadStream.Result>()
        let n = prompts.count
        Thread {
            let r = (try? LoadStream.run(client, model: model, prompt: .text("The capital of France is"), maxTokens: context - 32,
                                         onFirst: { started.signal() }, stop: { prefilled.value >= n }))
            shortBox.append(r ?? LoadStream.Result(error: "request failed"))
            started.signal()
            shortDone.signal()
        }.start()
        started.wait()
        let t0 = Date()
        let killer = Thread { [victims, interval = bench.killInterval] in
            for v in victims {
                Thread.sleep(forTimeInterval: interval)
                _ = try? Self.killWorker(listening: v)
            }
        }
        killer.start()
        let watching = Counter()   // 1 once the load is over
        let ages = LockedArray<Double>()
        let watcher = Thread { Self.watchHealth(client, until: { watching.value > 0 }, into: ages) }
        watcher.start()
        defer { watching.add() }
        let results = LockedArray<(Int, LoadStream.Result)>()
        let group = DispatchGroup()
        for (i, p) in prompts.enumerated() {
            group.enter()
            Thread {
                var r = (try? LoadStream.run(client, model: model, prompt: .tokens(p), maxTokens: bench.tokens, onFirst: { prefilled.add() }))
                    ?? LoadStream.Result(error: "request failed")
                if r.firstAt == nil { prefilled.add(); r.error = r.error ?? "no token" }
                results.append((i, r))
                group.leave()
            }.start()
        }
        group.wait()
        shortDone.wait()
        let short = shortBox.items.first ?? LoadStream.Result(error: "no result")
        let sorted = results.items.sorted { $0.0 < $1.0 }.map(\.1)
        out.texts = sorted.map(\.text)
        out.errors = sorted.compactMap(\.error) + (short.error.map { ["short stream: \($0)"] } ?? [])
        let last = sorted.compactMap(\.firstAt).max() ?? Date()
        out.prefillSeconds = last.timeIntervalSince(t0)
        out.prefillRate = Double(prompts.reduce(0) { $0 + $1.count }) / max(out.prefillSeconds, 1e-9)
        out.maxGap = short.maxGap
        out.shortTokens = short.tokens
        watching.add()
        out.maxHeartbeatAge = ages.items.max() ?? 0
    }

    /// Polls /health every 0.5 s, recording the largest heartbeat age of any worker.
    static func watchHealth(_ client: HTTPStreamClient, until done: () -> Bool, into ages: LockedArray<Double>) {
        while !done() {
            var body = ""
            if (try? client.request(method: "GET", path: "/health", body: nil, onLine: { body += $0 })) == 200,
               let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
               let workers = json["workers"] as? [[String: Any]] {
                ages.append(workers.compactMap { $0["last_heartbeat_seconds_ago"] as? Double }.max() ?? 0)
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    /// SIGKILL of the `strata worker` process listening at `endpoint` (as `strata up` starts it).
    static func killWorker(listening endpoint: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "kill -9 $(pgrep -f '[s]trata worker --listen \(endpoint) ')"]
        try p.run()
        p.waitUntilExit()
        print("killed the worker at \(endpoint)")
    }

}

/// One greedy streaming completion, timed token by token.
enum LoadStream {
    enum Prompt { case text(String), tokens([Int]) }

    struct Result {
        var text = ""
        var tokens = 0
        var firstAt: Date?
        var maxGap = 0.0
        var error: String?
    }

    static func run(_ client: HTTPStreamClient, model: String, prompt: Prompt, maxTokens: Int,
                    onFirst: (() -> Void)? = nil, stop: (() -> Bool)? = nil) throws -> Result {
        var body: [String: Any] = ["model": model, "max_tokens": maxTokens, "temperature": 0, "stream": true, "ignore_eos": true]
        switch prompt {
        case let .text(t): body["prompt"] = t
        case let .tokens(ids): body["prompt"] = ids
        }
        var r = Result()
        var last: Date?
        var raw = ""
        let status = try client.request(method: "POST", path: "/v1/completions", body: try JSONSerialization.data(withJSONObject: body),
                                        stop: stop) { line in
            if raw.count < 2000 { raw += line }
            guard line.hasPrefix("data: "), line != "data: [DONE]",
                  let json = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any] else { return }
            if let e = json["error"] as? [String: Any] { r.error = e["message"] as? String ?? "error"; return }
            guard let choices = json["choices"] as? [[String: Any]], let piece = choices.first?["text"] as? String, !piece.isEmpty else { return }
            let now = Date()
            if r.firstAt == nil { r.firstAt = now; onFirst?() }
            if let last { r.maxGap = max(r.maxGap, now.timeIntervalSince(last)) }
            last = now
            r.text += piece
            r.tokens += 1
        }
        if status != 200 { r.error = "HTTP \(status): \(raw.prefix(300))" }
        return r
    }
}

/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
