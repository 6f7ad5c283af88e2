/// One immutable frame of a multipart message: a byte range and whatever keeps it alive.
///
/// A frame may own heap memory it allocated, or borrow memory owned by someone else (a received
/// ZeroMQ message, a weight buffer) and run a release closure when the last reference goes away.
/// Either way `bytes` is valid for the frame's lifetime and never copied by the transport.
public final class Frame: @unchecked Sendable {
    /// The frame's bytes; valid as long as this object is alive. Do not write through it.
    public let bytes: UnsafeRawBufferPointer
    private let release: (() -> Void)?

    /// Wraps memory owned elsewhere without copying; `release` runs once, when the frame is freed.
    public init(borrowing bytes: UnsafeRawBufferPointer, release: (() -> Void)?) {
        self.bytes = bytes
        self.release = release
    }

    /// Allocates `byteCount` bytes (16-byte aligned) and lets `initialize` fill them.
    public convenience init(
        byteCount: Int, initializingWith initialize: (UnsafeMutableRawBufferPointer) throws -> Void
    ) rethrows {
        precondition(byteCount >= 0, "negative frame size")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 16)
        do { try initialize(buffer) } catch { buffer.deallocate(); throw error }
        self.init(borrowing: UnsafeRawBufferPointer(buffer), release: { buffer.deallocate() })
    }

    /// Copies `bytes` into a new frame.
    public convenience init<C: Collection>(copying bytes: C) where C.Element == UInt8 {
        self.init(byteCount: bytes.count) { out in _ = out.initializeMemory(as: UInt8.self, from: bytes) }
    }

    deinit { release?() }

    /// Calls `body` with the bytes, keeping the frame alive for the call. Prefer this to `bytes`
    /// when the frame is a temporary: Swift may free an object right after its last use.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(bytes) }
    }

    /// Number of bytes in the frame.
    public var count: Int { bytes.count }

    /// The frame's bytes as an array (a copy; for tests and small frames).
    public var array: [UInt8] { Array(bytes) }
}
