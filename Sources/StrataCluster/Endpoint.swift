/// Syntax checks for the addresses in cluster.yaml. They catch typos early; whether the address is
/// reachable is for the transport to find out.
enum EndpointSyntax {
    /// Why `text` is not a ZeroMQ endpoint a peer can connect to (tcp://HOST:PORT, ipc://PATH,
    /// inproc://NAME), or nil when it is.
    static func zeroMQProblem(_ text: String) -> String? {
        for scheme in ["ipc://", "inproc://"] where text.hasPrefix(scheme) {
            return text.count > scheme.count ? nil : "needs a name after \(scheme)"
        }
        guard text.hasPrefix("tcp://") else { return "must start with tcp://, ipc:// or inproc://" }
        return hostPortProblem(String(text.dropFirst("tcp://".count)))
    }

    /// Why `text` is not HOST:PORT with a concrete host and a port in 1...65535, or nil.
    static func hostPortProblem(_ text: String) -> String? {
        guard let colon = text.lastIndex(of: ":") else { return "must be HOST:PORT" }
        let host = text[..<colon], port = text[text.index(after: colon)...]
        guard !host.isEmpty else { return "has no host" }
        guard host != "*" else { return "needs a concrete host, not *" }
        guard let p = Int(port), (1...65535).contains(p) else { return "needs a port in 1...65535" }
        return nil
    }
}
