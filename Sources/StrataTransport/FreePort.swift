import Foundation

/// Free TCP ports on loopback, found by binding port 0.
public enum FreePort {
    /// Every port this process has handed out: the kernel may offer a just-closed port again,
    /// and two callers (or one caller asking for several) must never get the same one.
    nonisolated(unsafe) private static var handedOut = Set<Int>()
    private static let lock = NSLock()

    /// A port no socket is bound to right now and that this process has not handed out before
    /// (another process may still take it before you do).
    public static func next() throws -> Int {
        for _ in 0..<64 {
            let port = try bindAny()
            let fresh = lock.withLock { handedOut.insert(port).inserted }
            if fresh { return port }
        }
        throw POSIXError(.EADDRINUSE)
    }

    private static func bindAny() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
