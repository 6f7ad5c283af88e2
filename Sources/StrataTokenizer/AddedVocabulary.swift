// Added tokens (HF `tokenizers` added_vocabulary.rs): matched in the text before pre-tokenization,
// leftmost-longest, first the non-normalized ones on raw text, then the normalized ones on
// normalized text.

/// One entry of `added_tokens` (or a GGUF control / user-defined token).
public struct AddedToken: Sendable, Equatable {
    /// The token's id.
    public var id: Int
    /// The exact text that stands for the token.
    public var content: String
    /// Special tokens are dropped by `decode(skipSpecialTokens: true)`.
    public var special: Bool
    /// Also swallow whitespace on the left / right of a match.
    public var lstrip = false
    public var rstrip = false
    /// Matched against normalized text (true) or raw text (false).
    public var normalized = false
    /// Only match when not inside a word.
    public var singleWord = false

    /// An added token with HF's attribute defaults.
    public init(id: Int, content: String, special: Bool, lstrip: Bool = false, rstrip: Bool = false,
                normalized: Bool = false, singleWord: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.singleWord = singleWord
    }

    static func parse(_ node: JSONNode) throws -> AddedToken {
        AddedToken(id: try node["id"].int, content: try node["content"].string,
                   special: try node.bool("special", default: false), lstrip: try node.bool("lstrip", default: false),
                   rstrip: try node.bool("rstrip", default: false), normalized: try node.bool("normalized", default: true),
                   singleWord: try node.bool("single_word", default: false))
    }
}

/// A text segment: either an added token or plain text to normalize and tokenize.
enum Segment {
    case token(Int)
    case text(ArraySlice<UInt32>)
}

/// Leftmost-longest matcher over one set of added tokens.
struct AddedTokenMatcher: Sendable {
    /// (content scalars, token) grouped by first scalar, longest first.
    private var byFirst: [UInt32: [([UInt32], AddedToken)]] = [:]
    /// Bit v set when some token starts with ASCII scalar v (skips the dictionary for most text).
    private var asciiFirst: (UInt64, UInt64) = (0, 0)

    init(_ tokens: [(content: [UInt32], token: AddedToken)]) {
        for (c, t) in tokens where !c.isEmpty { byFirst[c[0], default: []].append((c, t)) }
        for k in byFirst.keys {
            byFirst[k]!.sort { $0.0.count > $1.0.count }
            if k < 64 { asciiFirst.0 |= 1 << UInt64(k) } else if k < 128 { asciiFirst.1 |= 1 << UInt64(k - 64) }
        }
    }

    var isEmpty: Bool { byFirst.isEmpty }

    /// The longest token matching at `i`.
    func longest(_ s: [UInt32], at i: Int) -> ([UInt32], AddedToken)? {
        let v = s[i]
        if v < 128, (v < 64 ? asciiFirst.0 >> UInt64(v) : asciiFirst.1 >> UInt64(v - 64)) & 1 == 0 { return nil }
        guard let cands = byFirst[v] else { return nil }
        for c in cands where i + c.0.count <= s.count && s[i..<i + c.0.count].elementsEqual(c.0) { return c }
        return nil
    }

    /// Splits `s` into added-token and text segments.
    func split(_ s: [UInt32]) -> [Segment] {
        guard !isEmpty else { return s.isEmpty ? [] : [.text(s[...])] }
        var out: [Segment] = []
        var textStart = 0, i = 0
        while i < s.count {
            guard let (content, tok) = longest(s, at: i) else { i += 1; continue }
            var start = i, stop = i + content.count
            i = stop
            if tok.singleWord, !(start == 0 || !isWordChar(s[start - 1])) || !(stop == s.count || !isWordChar(s[stop])) {
                continue
            }
            if tok.lstrip { while start > textStart, isSpace(s[start - 1]) { start -= 1 } }
            if tok.rstrip { while stop < s.count, isSpace(s[stop]) { stop += 1 } }
            if textStart < start { out.append(.text(s[textStart..<start])) }
            out.append(.token(tok.id))
            textStart = stop
            i = max(i, stop)
        }
        if textStart < s.count { out.append(.text(s[textStart...])) }
        return out
    }

    func isSpace(_ v: UInt32) -> Bool { Unicode.Scalar(v)?.properties.isWhitespace ?? false }

    func isWordChar(_ v: UInt32) -> Bool {
        guard let sc = Unicode.Scalar(v) else { return false }
        return v == 0x5F || sc.properties.isAlphabetic || sc.properties.numericType != nil
    }
}
