// Parser for the regex subset tokenizer pre-tokenizers use (Oniguruma/Ruby syntax as HF
// `tokenizers` compiles it): literals, escapes, classes with \p{..}, groups, (?i), lookahead,
// alternation, greedy/lazy quantifiers, ^ $ \A \z \Z. Anything else is a typed error.

indirect enum RegexNode {
    case char(UInt32)
    case cls(ScalarClass)
    case seq([RegexNode])
    case alt([RegexNode])
    case rep(RegexNode, min: Int, max: Int?, greedy: Bool)
    case look(RegexNode, negative: Bool)
    case lineStart, lineEnd, textStart, textEnd, textEndNewline
}

struct RegexParser {
    let pattern: String
    let s: [UInt32]
    var i = 0
    var caseInsensitive = false

    init(_ pattern: String) {
        self.pattern = pattern
        s = pattern.unicodeScalars.map(\.value)
    }

    func unsupported(_ what: String) -> TokenizerError { .unsupportedRegex(pattern: pattern, construct: what) }
    func invalid(_ why: String) -> TokenizerError { .invalidRegex(pattern: pattern, reason: "\(why) at offset \(i)") }

    var peek: UInt32? { i < s.count ? s[i] : nil }
    func at(_ c: Character) -> Bool { i < s.count && s[i] == c.unicodeScalars.first!.value }

    mutating func parse() throws -> RegexNode {
        let node = try alternation(depth: 0)
        guard i == s.count else { throw invalid("unmatched ')'") }
        return node
    }

    mutating func alternation(depth: Int) throws -> RegexNode {
        guard depth < 100 else { throw unsupported("nesting deeper than 100 groups") }
        let savedCI = caseInsensitive
        defer { caseInsensitive = savedCI }
        var branches = [try sequence(depth: depth)]
        while at("|") {
            i += 1
            branches.append(try sequence(depth: depth))
        }
        return branches.count == 1 ? branches[0] : .alt(branches)
    }

    mutating func sequence(depth: Int) throws -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek, c != 0x7C, c != 0x29 {  // '|' ')'
            guard let atom = try atom(depth: depth) else { continue }
            items.append(try quantified(atom))
        }
        return items.count == 1 ? items[0] : .seq(items)
    }

    /// Parses one atom; nil for constructs that only change state, like `(?i)`.
    mutating func atom(depth: Int) throws -> RegexNode? {
        let c = s[i]
        switch c {
        case 0x28: return try group(depth: depth)  // (
        case 0x5B: return .cls(try bracketClass())  // [
        case 0x2E: i += 1; return .cls(Self.dot)
        case 0x5E: i += 1; return .lineStart
        case 0x24: i += 1; return .lineEnd
        case 0x5C: return try escapeAtom()
        case 0x2A, 0x2B, 0x3F: throw invalid("nothing to repeat")
        default:
            i += 1
            return literal(c)
        }
    }

    static let dot: ScalarClass = {
        var c = ScalarClass()
        c.add(0x0A...0x0A)
        c.negated = true
        c.finish()
        return c
    }()

    func literal(_ c: UInt32) -> RegexNode {
        guard caseInsensitive else { return .char(c) }
        let variants = Set(CaseFold.variants(c))
        if variants.count == 1 { return .char(c) }
        var cls = ScalarClass()
        for v in variants { cls.add(v...v) }
        cls.finish()
        return .cls(cls)
    }

    mutating func group(depth: Int) throws -> RegexNode? {
        i += 1
        guard at("?") else { return try closeGroup(alternation(depth: depth + 1)) }
        i += 1
        guard let c = peek else { throw invalid("unterminated group") }
        switch Character(Unicode.Scalar(c)!) {
        case ":": i += 1; return try closeGroup(alternation(depth: depth + 1))
        case "=", "!":
            i += 1
            return .look(try closeGroup(alternation(depth: depth + 1)), negative: c == 0x21)
        case "<":
            if i + 1 < s.count, s[i + 1] == 0x3D || s[i + 1] == 0x21 { throw unsupported("lookbehind (?<=/(?<!") }
            throw unsupported("named group (?<name>")
        case ">": throw unsupported("atomic group (?>")
        case "#": throw unsupported("comment group (?#")
        default: return try flagGroup(depth: depth)
        }
    }

    /// `(?i)`, `(?i:...)`, `(?-i:...)`; other flags are unsupported.
    mutating func flagGroup(depth: Int) throws -> RegexNode? {
        var on = true, ci = caseInsensitive
        while let c = peek, c != 0x3A, c != 0x29 {
            switch c {
            case 0x2D: on = false
            case 0x69: ci = on
            default: throw unsupported("inline flag (?\(Character(Unicode.Scalar(c)!))")
            }
            i += 1
        }
        guard let c = peek else { throw invalid("unterminated group") }
        i += 1
        if c == 0x29 { caseInsensitive = ci; return nil }  // (?i) applies to the rest of the group
        let saved = caseInsensitive
        caseInsensitive = ci
        defer { caseInsensitive = saved }
        return try closeGroup(alternation(depth: depth + 1))
    }

    mutating func closeGroup(_ node: RegexNode) throws -> RegexNode {
        guard at(")") else { throw invalid("missing ')'") }
        i += 1
        return node
    }

    mutating func quantified(_ atom: RegexNode) throws -> RegexNode {
        guard let c = peek else { return atom }
        var minC = 0, maxC: Int? = nil
        switch c {
        case 0x2A: i += 1
        case 0x2B: i += 1; minC = 1
        case 0x3F: i += 1; maxC = 1
        case 0x7B:
            guard let (lo, hi) = braces() else { return atom }
            minC = lo; maxC = hi
        default: return atom
        }
        if case .look = atom { throw unsupported("quantified lookahead") }
        var greedy = true
        if at("?") { i += 1; greedy = false } else if at("+") { throw unsupported("possessive quantifier") }
        if let m = maxC, m < minC { throw invalid("bad repetition range") }
        guard minC <= 1000, (maxC ?? 0) <= 1000 else { throw unsupported("repetition count above 1000") }
        if at("*") || at("+") || at("{") && braces(peekOnly: true) != nil { throw unsupported("nested quantifier") }
        return .rep(atom, min: minC, max: maxC, greedy: greedy)
    }

    /// Parses `{n}`, `{n,}`, `{n,m}`, `{,m}`; nil (and no consumption) when `{` is a literal.
    mutating func braces(peekOnly: Bool = false) -> (Int, Int?)? {
        var j = i + 1
        func number() -> Int? {
            var v = 0, n = 0
            while j < s.count, s[j] >= 0x30, s[j] <= 0x39, n < 6 { v = v * 10 + Int(s[j] - 0x30); j += 1; n += 1 }
            return n == 0 ? nil : v
        }
        let lo = number()
        var hi: Int?
        if j < s.count, s[j] == 0x2C {
            j += 1
            hi = number()
            if lo == nil && hi == nil { return nil }
        } else {
            guard lo != nil else { return nil }
            hi = lo
        }
        guard j < s.count, s[j] == 0x7D else { return nil }
        if !peekOnly { i = j + 1 }
        return (lo ?? 0, hi)
    }
}
