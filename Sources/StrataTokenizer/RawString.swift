// Exact, fast string keys for vocabularies. Swift's `String` equality is canonical equivalence
// ("e\u{301}" == "\u{E9}") and its hash normalizes non-ASCII text first, which is both wrong for
// token lookup and slow for 100k-entry tables; `RawString` compares and hashes raw UTF-8 bytes.

/// A string compared and hashed by its exact UTF-8 bytes.
public struct RawString: Hashable, Sendable, CustomStringConvertible {
    /// The wrapped string.
    public let string: String

    /// Wraps `s` (made contiguous UTF-8 once, so comparisons and hashing are byte loops).
    public init(_ s: String) {
        var s = s
        s.makeContiguousUTF8()
        string = s
    }

    public var description: String { string }

    public static func == (a: RawString, b: RawString) -> Bool {
        var a = a.string, b = b.string
        guard a.utf8.count == b.utf8.count else { return false }
        return a.withUTF8 { pa in b.withUTF8 { pb in pa.elementsEqual(pb) } }
    }

    public func hash(into h: inout Hasher) {
        var s = string
        s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
