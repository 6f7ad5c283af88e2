// Incremental detokenization for streaming generation: ids go in one at a time, text comes out
// as soon as it is complete. The concatenation of all chunks (plus `finish()`) equals
// `Tokenizer.decode` of all ids.

/// Turns a stream of ids into text chunks that never split a UTF-8 character.
///
/// For byte-level decoders it works on bytes: it holds back a trailing incomplete UTF-8 sequence
/// (from its last lead byte), and emits everything before it. Cutting before a lead byte never
/// changes how lossy UTF-8 decoding treats either side, so the chunks concatenate to `decode(all)`.
/// Other decoders re-decode the ids so far and emit the new suffix once it does not end in U+FFFD.
public struct StreamingDecoder {
    /// The tokenizer whose `decode` the output reproduces.
    public let tokenizer: Tokenizer
    /// Drop special tokens, as `decode(skipSpecialTokens: true)` does.
    public let skipSpecialTokens: Bool
    private var pending: [UInt8] = []
    private var ids: [Int] = []
    private var emitted: [UInt8] = []
    private let byteLevel: Bool

    /// A decoder with nothing pending.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        byteLevel = tokenizer.decoder?.isPureByteLevel ?? false
    }

    /// Feeds one id; returns the text that became complete (possibly empty).
    public mutating func push(_ id: Int) -> String {
        if byteLevel {
            guard !(skipSpecialTokens && tokenizer.specialIDs.contains(id)), let t = tokenizer.token(for: id) else { return "" }
            pending += ByteLevel.decode(t) ?? Array(t.utf8)
            let cut = Self.completePrefix(pending)
            guard cut > 0 else { return "" }
            defer { pending.removeFirst(cut) }
            return String(decoding: pending[..<cut], as: UTF8.self)
        }
        ids.append(id)
        let text = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        guard !text.hasSuffix("\u{FFFD}") else { return "" }
        return takeNew(text)
    }

    /// Feeds several ids; returns the text that became complete.
    public mutating func push(_ ids: [Int]) -> String { ids.map { push($0) }.joined() }

    /// Flushes whatever is held back (an incomplete sequence decodes to U+FFFD, as in `decode`).
    public mutating func finish() -> String {
        if byteLevel {
            defer { pending = [] }
            return String(decoding: pending, as: UTF8.self)
        }
        return takeNew(tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens))
    }

    private mutating func takeNew(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > emitted.count, bytes.starts(with: emitted) else { return "" }
        let new = String(decoding: bytes[emitted.count...], as: UTF8.self)
        emitted = bytes
        return new
    }

    /// Length of the prefix of `b` that excludes a trailing incomplete sequence (cut at its lead byte).
    static func completePrefix(_ b: [UInt8]) -> Int {
        var i = b.count - 1
        let stop = max(0, b.count - 4)
        while i >= stop {
            let c = b[i]
            if c < 0x80 { return b.count }
            if c >= 0xC2, c <= 0xF4 {
                let need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2
                return b.count - i < need ? i : b.count
            }
            if c < 0xC0 { i -= 1; continue }  // continuation byte: keep looking for its lead
            return b.count                     // invalid byte (C0, C1, F5...): cut anywhere
        }
        return b.count
    }
}
