import Foundation
import Hummingbird
import NIOCore

/// The request context of the OpenAI routes: Hummingbird's basic context plus the connection, to
/// learn that the client went away. Hummingbird does not cancel a handler whose client left, and
/// its server allows half-closed connections, so a client's FIN does not close the channel: a
/// non-streaming request (nothing to write until the end) would generate to completion for
/// nobody. `cancelWhenClientGone` watches the connection instead: its close, and on Linux the TCP
/// state every 250 ms (CLOSE_WAIT once the peer has closed its side).
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Cancels `stream` if the client disconnects before `ClientWatch.end()` (call it when the
    /// response is complete; the connection may live on for more requests).
    func cancelWhenClientGone(_ stream: TokenStream) -> ClientWatch {
        let watch = ClientWatch(stream)
        channel.closeFuture.whenComplete { _ in watch.clientGone() }
        #if os(Linux)
        if let socket = channel as? SocketOptionProvider {
            Task {
                while watch.isWatching {
                    try? await Task.sleep(for: .milliseconds(250))
                    guard watch.isWatching else { return }
                    if let info = try? await socket.getTCPInfo().get(), Self.peerClosed(state: info.tcpi_state) {
                        watch.clientGone()
                        return
                    }
                }
            }
        }
        #endif
        return watch
    }

    /// TCP_CLOSE (7), TCP_CLOSE_WAIT (8), TCP_LAST_ACK (9): the peer has closed its side.
    static func peerClosed(state: UInt8) -> Bool { (7...9).contains(state) }
}

/// A running request's stream until the response is complete.
final class ClientWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var stream: TokenStream?

    init(_ stream: TokenStream) { self.stream = stream }

    var isWatching: Bool { lock.lock(); defer { lock.unlock() }; return stream != nil }

    func clientGone() {
        lock.lock(); let s = stream; stream = nil; lock.unlock()
        s?.cancel()
    }

    func end() { lock.lock(); stream = nil; lock.unlock() }
}
