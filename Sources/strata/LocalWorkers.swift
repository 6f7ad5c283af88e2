import Foundation
import Logging
import ArgumentParser
import StrataCluster
import StrataTransport

/// Worker processes started by this process (`strata up`, `strata bench pipeline`): each is
/// `strata worker --exit-with-parent`, so none outlives its parent.
final class LocalWorkers: @unchecked Sendable {
    private(set) var processes: [(name: String, process: Process)] = []
    private let lock = NSLock()
    private var stopping = false
    /// Called when a worker exits while the cluster runs.
    var onUnexpectedExit: ((String, Int32) -> Void)?

    private var arguments: [String: [String]] = [:]
    private var restarts: [String: Int] = [:]
    /// Restarts of one worker before `restart` gives up (a crash loop is not hidden forever).
    static let maxRestarts = 20

    private var logLevel: Logger.Level = .info
    /// Workers whose exit is expected (removed from cluster.yaml).
    private var retired: Set<String> = []

    /// The coordinator's public key (Z85) when the cluster uses CURVE: workers get it and their key file.
    private var coordinatorKey: String?

    static func start(_ workers: [ClusterConfig.Worker], logLevel: Logger.Level, security: ClusterConfig.Security? = nil) throws -> LocalWorkers {
        let set = LocalWorkers()
        set.logLevel = logLevel
        set.coordinatorKey = security.map { Z85.encode($0.coordinatorKey) }
        for w in workers { try set.add(w) }
        return set
    }

    /// Starts one more worker process (cluster.yaml gained a local worker).
    func add(_ w: ClusterConfig.Worker) throws {
        var args = ["worker", "--listen", Self.bindable(w.endpoint), "--name", w.name, "--memory", "\(w.memoryBytes)B",
                    "--exit-with-parent", "--parent-pid", "\(getpid())", "--log-level", logLevel.rawValue]
        if let t = w.threads { args += ["--threads", "\(t)"] }
        if let coordinatorKey {
            guard let file = w.secretFile else {
                throw ValidationError("cluster.yaml uses CURVE: worker \(w.name) needs secret_file (its key file) for strata up to start it")
            }
            args += ["--key-file", file, "--coordinator-key=\(coordinatorKey)"]   // the key may begin with '-'
        }
        lock.lock(); arguments[w.name] = args; retired.remove(w.name); lock.unlock()
        try spawn(w.name)
    }

    /// From now on this worker's exit is expected (it was removed; the coordinator shuts it down).
    func retire(_ name: String) {
        lock.lock(); retired.insert(name); lock.unlock()
    }

    private func spawn(_ name: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        lock.lock(); p.arguments = arguments[name]; lock.unlock()
        p.terminationHandler = { [weak self] proc in self?.exited(name, proc.terminationStatus) }
        try p.run()
        lock.lock()
        processes.removeAll { $0.name == name && !$0.process.isRunning }
        processes.append((name, p))
        lock.unlock()
    }

    /// Starts an exited worker again after `delay` seconds (unless the cluster is stopping).
    func restart(_ name: String, after delay: Double) {
        lock.lock()
        let count = restarts[name, default: 0] + 1
        restarts[name] = count
        lock.unlock()
        let log = Logger(label: "strata.up")
        guard count <= Self.maxRestarts else {
            log.error("worker keeps exiting; not restarting it again", metadata: ["worker": "\(name)", "restarts": "\(count - 1)"])
            return
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in
            guard let self else { return }
            self.lock.lock(); let stopping = self.stopping; self.lock.unlock()
            guard !stopping else { return }
            do {
                try self.spawn(name)
                log.notice("restarted worker process", metadata: ["worker": "\(name)"])
            } catch {
                log.error("could not restart worker", metadata: ["worker": "\(name)", "error": "\(error)"])
            }
        }
    }

    /// Pids of the running worker processes, by name (tests, ops scripts).
    func pid(of name: String) -> Int32? {
        lock.lock(); defer { lock.unlock() }
        return processes.last { $0.name == name && $0.process.isRunning }?.process.processIdentifier
    }

    private func exited(_ name: String, _ status: Int32) {
        lock.lock(); let expected = stopping || retired.contains(name); let handler = onUnexpectedExit; lock.unlock()
        if !expected { handler?(name, status) }
    }

    /// From now on, workers exiting is expected (the cluster is shutting down).
    func expectExit() { lock.lock(); stopping = true; lock.unlock() }

    /// Waits up to 5 s for the workers to exit (after a Shutdown), then terminates the rest.
    func stop() {
        lock.lock(); stopping = true; lock.unlock()
        let deadline = Date().addingTimeInterval(5)
        lock.lock(); let all = processes; lock.unlock()
        for (_, p) in all {
            while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if p.isRunning { p.terminate() }
        }
        for (_, p) in all { p.waitUntilExit() }
    }

    /// The endpoint as a worker binds it: a hostname becomes the address it names.
    static func bindable(_ endpoint: String) -> String {
        endpoint.replacingOccurrences(of: "tcp://localhost:", with: "tcp://127.0.0.1:")
    }

    /// Whether an endpoint names this machine: loopback, ipc/inproc, or one of its interface addresses.
    static func isLocal(_ endpoint: String) -> Bool {
        guard endpoint.hasPrefix("tcp://") else { return true }
        let hostPort = endpoint.dropFirst(6)
        guard let colon = hostPort.lastIndex(of: ":") else { return false }
        var host = String(hostPort[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "0.0.0.0" { return true }
        return interfaceAddresses().contains(host)
    }

    static func interfaceAddresses() -> Set<String> {
        var result: Set<String> = []
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return result }
        defer { freeifaddrs(list) }
        var p = list
        while let a = p {
            if let sa = a.pointee.ifa_addr {
                var buf = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                let len = socklen_t(sa.pointee.sa_family == UInt16(AF_INET6) ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
                if sa.pointee.sa_family == UInt16(AF_INET) || sa.pointee.sa_family == UInt16(AF_INET6),
                   getnameinfo(sa, len, &buf, socklen_t(buf.count), nil, 0, NI_NUMERICHOST) == 0 {
                    result.insert(String(cString: buf))
                }
            }
            p = a.pointee.ifa_next
        }
        return result
    }
}
