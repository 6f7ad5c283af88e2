// Pre-tokenizers of HF `tokenizers` (pre_tokenizers/*.rs). They cut normalized text into pieces
// that the model encodes independently. Pieces are ranges into one scalar buffer, so splitting
// allocates no per-piece strings.

/// How a `Split` treats the delimiter matches (HF `SplitDelimiterBehavior`).
public enum SplitBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    /// Turns a covering list of (range, isMatch) into the output pieces.
    func apply(_ parts: [(Range<Int>, Bool)]) -> [Range<Int>] {
        switch self {
        case .removed: return parts.filter { !$0.1 }.map(\.0)
        case .isolated: return parts.map(\.0)
        case .mergedWithPrevious:
            var out: [Range<Int>] = [], prevMatch = false
            for (r, m) in parts {
                if m, !prevMatch, let last = out.last { out[out.count - 1] = last.lowerBound..<r.upperBound } else { out.append(r) }
                prevMatch = m
            }
            return out
        case .mergedWithNext:
            var out: [Range<Int>] = [], prevMatch = false
            for (r, m) in parts.reversed() {
                if m, !prevMatch, let last = out.last { out[out.count - 1] = r.lowerBound..<last.upperBound } else { out.append(r) }
                prevMatch = m
            }
            return out.reversed()
        case .contiguous:
            var out: [Range<Int>] = [], prevMatch = false
            for (r, m) in parts {
                if m == prevMatch, let last = out.last { out[out.count - 1] = last.lowerBound..<r.upperBound } else { out.append(r) }
                prevMatch = m
            }
            return out
        }
    }
}

/// The text being pre-tokenized: one scalar buffer and the pieces cut from it so far.
public struct Pieces {
    /// The (possibly rewritten) text and the piece ranges into it, in order.
    public var text: ScalarText
    public var ranges: [Range<Int>]

    /// One piece covering all of `text` (none when it is empty).
    public init(_ text: ScalarText) {
        self.text = text
        ranges = text.scalars.isEmpty ? [] : [0..<text.scalars.count]
    }

    /// Re-cuts every piece with `cut`, which appends the piece's delimiter matches (ascending,
    /// non-overlapping ranges inside the piece) to its buffer.
    mutating func split(_ behavior: SplitBehavior, invert: Bool = false,
                        _ cut: (Range<Int>, inout [Range<Int>]) -> Void) {
        var out: [Range<Int>] = []
        out.reserveCapacity(ranges.count * 2)
        var ms: [Range<Int>] = []
        var parts: [(Range<Int>, Bool)] = []
        for r in ranges {
            ms.removeAll(keepingCapacity: true)
            cut(r, &ms)
            if behavior == .isolated {  // the common case: matches and gaps alike become pieces
                var prev = r.lowerBound
                for m in ms where !m.isEmpty {
                    if prev < m.lowerBound { out.append(prev..<m.lowerBound) }
                    out.append(m)
                    prev = m.upperBound
                }
                if prev < r.upperBound { out.append(prev..<r.upperBound) }
                continue
            }
            parts.removeAll(keepingCapacity: true)
            var prev = r.lowerBound
            for m in ms {
                if prev < m.lowerBound { parts.append((prev..<m.lowerBound, invert)) }
                parts.append((m, !invert))
                prev = m.upperBound
            }
            if prev < r.upperBound { parts.append((prev..<r.upperBound, invert)) }
            out.append(contentsOf: behavior.apply(parts).filter { !$0.isEmpty })
        }
        ranges = out
    }

    /// Rewrites each piece's scalars (for prefix spaces and Metaspace), rebuilding the buffer.
    mutating func rewrite(_ f: (Int, ArraySlice<UInt32>) -> [UInt32]) {
        var scalars: [UInt32] = []
        var out: [Range<Int>] = []
        for (k, r) in ranges.enumerated() {
            let start = scalars.count
            scalars += f(k, text.scalars[r])
            out.append(start..<scalars.count)
        }
        text = ScalarText(scalars)
        ranges = out
    }
}

