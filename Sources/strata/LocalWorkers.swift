import Foundation
import Logging
import StrataCluster

/// Worker processes started by this process (`strata up`, `strata bench pipeline`): each is
/// `strata worker --exit-with-parent`, so none outlives its parent.
final class LocalWorkers: @unchecked Sendable {
    private(set) var processes: [(name: String, process: Process)] = []
    private let lock = NSLock()
    private var stopping = false
    /// Called when a worker exits while the cluster runs.
    var onUnexpectedExit: ((String, Int32) -> Void)?

    static func start(_ workers: [ClusterConfig.Worker], logLevel: Logger.Level) throws -> LocalWorkers {
        let set = LocalWorkers()
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        for w in workers {
            let p = Process()
            p.executableURL = exe
            var args = ["worker", "--listen", bindable(w.endpoint), "--name", w.name, "--memory", "\(w.memoryBytes)B",
                        "--exit-with-parent", "--log-level", logLevel.rawValue]
            if let t = w.threads { args += ["--threads", "\(t)"] }
            p.arguments = args
            p.terminationHandler = { [weak set] proc in set?.exited(w.name, proc.terminationStatus) }
            try p.run()
            set.lock.lock(); set.processes.append((w.name, p)); set.lock.unlock()
        }
        return set
    }

    private func exited(_ name: String, _ status: Int32) {
        lock.lock(); let expected = stopping; let handler = onUnexpectedExit; lock.unlock()
        if !expected { handler?(name, status) }
    }

    /// From now on, workers exiting is expected (the cluster is shutting down).
    func expectExit() { lock.lock(); stopping = true; lock.unlock() }

    /// Waits up to 5 s for the workers to exit (after a Shutdown), then terminates the rest.
    func stop() {
        lock.lock(); stopping = true; lock.unlock()
        let deadline = Date().addingTimeInterval(5)
        for (_, p) in processes {
            while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if p.isRunning { p.terminate() }
        }
        for (_, p) in processes { p.waitUntilExit() }
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
