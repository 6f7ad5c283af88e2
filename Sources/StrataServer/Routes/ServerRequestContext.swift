import Hummingbird
import Logging

/// The request context of the OpenAI routes: Hummingbird's basic context plus a way to learn
/// that the client's connection closed. Hummingbird does not cancel a handler whose client went
/// away, so a non-streaming request (nothing to write until the end) would otherwise generate to
/// completion for nobody; with `onClientGone` its sequence is cancelled and its KV cache freed at
/// the scheduler's next step.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Registers a callback for when the connection closes (nil where there is no connection,
    /// e.g. router tests).
    let onClose: (@Sendable (@escaping @Sendable () -> Void) -> Void)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        let channel = source.channel
        onClose = { callback in channel.closeFuture.whenComplete { _ in callback() } }
    }

    /// Cancels `stream` if the client disconnects before it finishes (a no-op once it has).
    func cancelWhenClientGone(_ stream: TokenStream) {
        onClose? { stream.cancel() }
    }
}
