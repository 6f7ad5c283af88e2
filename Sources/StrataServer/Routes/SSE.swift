import Foundation
import Hummingbird

/// Server-sent events as OpenAI streams them: `data: {json}\n\n` per chunk, `data: [DONE]\n\n` last.
enum SSE {
    static let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]

    static func event<T: Encodable>(_ value: T) throws -> ByteBuffer {
        var bytes = Array("data: ".utf8)
        bytes += try ServingContext.jsonEncoder.encode(value)
        bytes += Array("\n\n".utf8)
        return ByteBuffer(bytes: bytes)
    }

    /// An error after the stream started (the status line is already sent), then the end.
    static func error(_ error: APIError) -> ByteBuffer {
        ByteBuffer(bytes: Array("data: ".utf8) + error.jsonBody + Array("\n\n".utf8))
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")
}
