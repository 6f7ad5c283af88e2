/// Finds stop strings in generated text that arrives in pieces (one per token), matching across
/// piece boundaries.
///
/// Text that could still become the start of a stop string is held back; everything before it
/// is released. On a match, the text before the match is released and the rest is dropped.
/// Works on UTF-8 bytes: a stop string begins with a lead byte, so every cut falls on a
/// character boundary of the valid UTF-8 it is fed.
public struct StopMatcher: Sendable {
    /// The stop strings as UTF-8 (empty strings dropped).
    public let stops: [[UInt8]]
    private var pending: [UInt8] = []
    /// True once a stop string matched; later input is ignored.
    public private(set) var matched = false
    /// Bytes released so far (the position in the whole generated text).
    public private(set) var releasedBytes = 0

    public init(stops: [String]) {
        self.stops = stops.map { Array($0.utf8) }.filter { !$0.isEmpty }
    }

    /// Bytes currently held back.
    public var heldBytes: Int { pending.count }

    /// Feeds the next piece; returns the text that is now safe to emit.
    public mutating func push(_ text: String) -> String {
        guard !matched else { return "" }
        pending += text.utf8
        if let at = earliestMatch() {
            matched = true
            return release(at, dropRest: true)
        }
        return release(holdbackStart(), dropRest: false)
    }

    /// Releases whatever is held (the generation ended without a match).
    public mutating func finish() -> String {
        guard !matched else { return "" }
        return release(pending.count, dropRest: false)
    }

    private mutating func release(_ count: Int, dropRest: Bool) -> String {
        let out = String(decoding: pending[..<count], as: UTF8.self)
        releasedBytes += count
        if dropRest { pending.removeAll() } else { pending.removeFirst(count) }
        return out
    }

    /// Start of the first complete stop string in `pending`.
    private func earliestMatch() -> Int? {
        var best: Int?
        for stop in stops where stop.count <= pending.count {
            var i = 0
            while i + stop.count <= pending.count, i < (best ?? .max) {
                if pending[i] == stop[0], pending[i..<(i + stop.count)].elementsEqual(stop) { best = i; break }
                i += 1
            }
        }
        return best
    }

    /// Start of the longest suffix of `pending` that is a proper prefix of some stop string.
    private func holdbackStart() -> Int {
        let longest = stops.map(\.count).max() ?? 0
        var i = max(0, pending.count - (longest - 1))
        while i < pending.count {
            let tail = pending[i...]
            if stops.contains(where: { $0.count > tail.count && $0.starts(with: tail) }) { return i }
            i += 1
        }
        return pending.count
    }
}
