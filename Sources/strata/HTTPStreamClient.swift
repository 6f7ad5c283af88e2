import Foundation

/// A small HTTP/1.1 client over a POSIX socket, enough to drive the OpenAI API in benchmarks:
/// POST a JSON body and read the response (Content-Length or chunked) as it arrives, line by line,
/// so SSE events are seen when they come rather than at the end.
struct HTTPStreamClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let host: String
    let port: Int

    /// Parses "http://HOST:PORT" (no TLS).
    init(url: String) throws {
        guard url.hasPrefix("http://") else { throw Failure(description: "only http:// URLs are supported: \(url)") }
        let rest = url.dropFirst(7).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        guard let colon = rest.lastIndex(of: ":"), let p = Int(rest[rest.index(after: colon)...]) else {
            throw Failure(description: "URL needs HOST:PORT: \(url)")
        }
        host = String(rest[..<colon])
        port = p
    }

    /// Sends the request; `onLine` gets each line of the body (without CR/LF) as it arrives.
    /// Returns the status code. When `stop` says so (asked as data arrives, and at least every
    /// second), the connection is closed early — the server sees its client go away.
    func request(method: String, path: String, body: Data?, headers: [String: String] = [:],
                 stop: (() -> Bool)? = nil, onLine: @escaping (String) -> Void) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else { throw Failure(description: "cannot connect to \(host):\(port)") }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        var out = Data(head.utf8)
        if let body { out += body }
        try out.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, 0)
                guard n > 0 else { throw Failure(description: "send failed") }
                sent += n
            }
        }
        var reader = LineReader(fd: fd, stop: stop)
        if stop != nil {
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        guard let statusLine = try reader.line(), statusLine.hasPrefix("HTTP/1.1 "),
              let status = Int(statusLine.dropFirst(9).prefix(3)) else { throw Failure(description: "bad status line") }
        var chunked = false
        var length: Int?
        while let h = try reader.line(), !h.isEmpty {
            let lower = h.lowercased()
            if lower.hasPrefix("transfer-encoding:") && lower.contains("chunked") { chunked = true }
            if lower.hasPrefix("content-length:") { length = Int(h.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
        }
        var body = BodyLines(onLine: onLine)
        if chunked {
            while !reader.stopped, let sizeLine = try reader.line() {
                guard let size = Int(sizeLine.split(separator: ";")[0].trimmingCharacters(in: .whitespaces), radix: 16) else {
                    throw Failure(description: "bad chunk size '\(sizeLine)'")
                }
                if size == 0 { break }
                body.feed(try reader.bytes(size))
                _ = try reader.line()
            }
        } else if let length {
            body.feed(try reader.bytes(length))
        } else {
            while let chunk = try reader.some() { body.feed(chunk) }
        }
        body.finish()
        return status
    }
}

extension HTTPStreamClient {
    /// Waits until the server answers /v1/models and returns the first model's id; fails when
    /// `child` (the `strata up` a benchmark started) exits first, or after `timeout` seconds.
    /// `log`: where the child's log is, for the error message.
    func waitForModel(child: Process?, timeout: Double = 180, headers: [String: String] = [:], log: String? = nil) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        let see = log.map { "; log: \($0)" } ?? ""
        while Date() < deadline {
            if let child, !child.isRunning { throw Failure(description: "strata up exited with status \(child.terminationStatus)\(see)") }
            var body = ""
            if let status = try? request(method: "GET", path: "/v1/models", body: nil, headers: headers, onLine: { body += $0 }),
               status == 200,
               let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
               let data = json["data"] as? [[String: Any]], let id = data.first?["id"] as? String {
                return id
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        throw Failure(description: "no server answered /v1/models at \(host):\(port) within \(Int(timeout)) s\(see)")
    }
}

/// Splits fed bytes into lines.
private struct BodyLines {
    let onLine: (String) -> Void
    var pending: [UInt8] = []

    mutating func feed(_ bytes: [UInt8]) {
        for b in bytes {
            if b == 0x0A {
                if pending.last == 0x0D { pending.removeLast() }
                onLine(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else { pending.append(b) }
        }
    }

    mutating func finish() { if !pending.isEmpty { onLine(String(decoding: pending, as: UTF8.self)); pending = [] } }
}

/// Buffered reads from a socket.
private struct LineReader {
    let fd: Int32
    let stop: (() -> Bool)?
    var buffer: [UInt8] = []
    var start = 0
    /// `stop` said so: reads end as if the peer had closed.
    var stopped = false

    init(fd: Int32, stop: (() -> Bool)? = nil) { self.fd = fd; self.stop = stop }

    mutating func fill() throws -> Bool {
        var tmp = [UInt8](repeating: 0, count: 65536)
        var n = 0
        while true {
            if stopped || stop?() == true { stopped = true; return false }
            n = recv(fd, &tmp, tmp.count, 0)
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && stop != nil { continue }
            break
        }
        if n < 0 { throw HTTPStreamClient.Failure(description: "recv failed") }
        if n == 0 { return false }
        if start > 0 { buffer.removeFirst(start); start = 0 }
        buffer += tmp[0..<n]
        return true
    }

    mutating func line() throws -> String? {
        while true {
            if let i = buffer[start...].firstIndex(of: 0x0A) {
                var end = i
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                let s = String(decoding: buffer[start..<end], as: UTF8.self)
                start = i + 1
                return s
            }
            if try !fill() { return nil }
        }
    }

    mutating func bytes(_ n: Int) throws -> [UInt8] {
        while buffer.count - start < n {
            if try !fill() {
                if stopped { let out = Array(buffer[start...]); start = buffer.count; return out }
                throw HTTPStreamClient.Failure(description: "connection closed mid-body")
            }
        }
        let out = Array(buffer[start..<(start + n)])
        start += n
        return out
    }

    mutating func some() throws -> [UInt8]? {
        if start < buffer.count { let out = Array(buffer[start...]); start = buffer.count; return out }
        return try fill() ? some() : nil
    }
}
