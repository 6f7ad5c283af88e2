import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP connection to 127.0.0.1 for tests that need to see bytes as they arrive or to
/// drop the connection mid-response.
final class RawHTTPConnection: @unchecked Sendable {
    private let fd: Int32
    private var closed = false

    struct Failure: Error, CustomStringConvertible { let description: String }

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { Glibc.close(fd); throw Failure(description: "connect to port \(port) failed") }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "send failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// Reads until the received text contains `marker` (or the peer closes / 60 s pass).
    func receive(until marker: String) throws -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: data, as: UTF8.self).contains(marker) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            // A signal (other tests' child processes exiting) interrupts the wait; it is not an end.
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let why = n == 0 ? "peer closed" : String(cString: strerror(errno))
                throw Failure(description: "connection ended (\(why)) before \(marker.debugDescription): \(String(decoding: data, as: UTF8.self))")
            }
            data += buffer[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// `receive(until:)` on a thread of its own: a blocking read on one of the (two, on this box)
    /// cooperative threads can starve the very tasks that would produce the bytes.
    func received(until marker: String) async throws -> String {
        try await withCheckedThrowingContinuation { done in
            Thread { done.resume(with: Result { try self.receive(until: marker) }) }.start()
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    deinit { close() }
}
