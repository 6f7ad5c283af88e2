// Jinja2 lexer (port of jinja2/lexer.py `tokeniter`) with the environment transformers uses:
// default delimiters, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False.

struct Token {
    enum Kind: Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String), string(String), integer(Int), float(Double), op(String)
        case eof
    }
    let kind: Kind
    let line: Int
}

struct Lexer {
    private var src: [Unicode.Scalar]
    private var pos = 0
    private var line = 1
    private var lineStarting = true
    private var tokens: [Token] = []

    static let operators = [
        "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
        ">", "<", "=", ".", ":", "|", ",", ";",
    ].map { Array($0.unicodeScalars) }

    /// Tokenizes `source`: newlines normalized to \n, one trailing newline dropped (Jinja's default).
    static func tokenize(_ source: String) throws -> [Token] {
        var lexer = Lexer(src: normalizeNewlines(source))
        try lexer.run()
        return lexer.tokens
    }

    private static func normalizeNewlines(_ s: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.unicodeScalars.count)
        var lastCR = false
        for c in s.unicodeScalars {
            if c == "\r" { out.append("\n"); lastCR = true; continue }
            if c == "\n" && lastCR { lastCR = false; continue }
            lastCR = false
            out.append(c)
        }
        if out.last == "\n" { out.removeLast() }
        return out
    }

    private func at(_ p: Int, _ s: String) -> Bool {
        var i = p
        for c in s.unicodeScalars {
            guard i < src.count, src[i] == c else { return false }
            i += 1
        }
        return true
    }

    private mutating func emit(_ kind: Token.Kind, line l: Int? = nil) {
        tokens.append(Token(kind: kind, line: l ?? line))
    }

    private mutating func advance(to p: Int) {
        for i in pos..<p where src[i] == "\n" { line += 1 }
        pos = p
    }

    private func skipSpace(from p: Int) -> Int {
        var i = p
        while i < src.count, Python.isSpace(src[i]) { i += 1 }
        return i
    }

    private mutating func run() throws {
        while pos < src.count {
            guard let start = nextTagStart(from: pos) else {
                emit(.text(String(scalars: src[pos...])))
                advance(to: src.count)
                break
            }
            let kind = src[start + 1]
            var p = start + 2
            var sign: Unicode.Scalar?
            if p < src.count, src[p] == "-" || src[p] == "+" { sign = src[p]; p += 1 }
            let rawEnd = kind == "%" ? rawBegin(at: p) : nil
            emitText(pos, start, sign: sign, isVariable: kind == "{")
            lineStarting = false
            advance(to: p)
            if let rawEnd {
                try lexRaw(bodyStart: rawEnd)
            } else if kind == "#" {
                try lexComment()
            } else {
                emit(kind == "{" ? .variableBegin : .blockBegin)
                try lexTag(block: kind == "%")
            }
        }
        emit(.eof)
    }

    private func nextTagStart(from p: Int) -> Int? {
        var i = p
        while i + 1 < src.count {
            if src[i] == "{", src[i + 1] == "{" || src[i + 1] == "%" || src[i + 1] == "#" { return i }
            i += 1
        }
        return nil
    }

    /// Emits template data [a, b) before a tag, applying `-` stripping or lstrip_blocks.
    private mutating func emitText(_ a: Int, _ b: Int, sign: Unicode.Scalar?, isVariable: Bool) {
        var end = b
        if sign == "-" {
            while end > a, Python.isSpace(src[end - 1]) { end -= 1 }
        } else if sign != "+" && !isVariable {
            var lineStart = b
            while lineStart > a, src[lineStart - 1] != "\n" { lineStart -= 1 }
            let afterNewline = lineStart > a
            if (afterNewline || lineStarting) && lineStart < b
                && src[lineStart..<b].allSatisfy(Python.isSpace) {
                end = lineStart
            }
        }
        if end > a { emit(.text(String(scalars: src[a..<end]))) }
        advance(to: b)
    }

    /// If a `{% raw %}` tag starts (after `{%` and its sign) at `p`, the offset after the tag.
    private func rawBegin(at p: Int) -> Int? {
        var i = skipSpace(from: p)
        guard at(i, "raw") else { return nil }
        i = skipSpace(from: i + 3)
        if at(i, "-%}") { return skipSpace(from: i + 3) }
        if at(i, "%}") { return i + 2 }
        return nil
    }

    private mutating func lexRaw(bodyStart: Int) throws {
        advance(to: bodyStart)
        var i = pos
        while i + 1 < src.count {
            if src[i] == "{", src[i + 1] == "%" {
                var p = i + 2
                var sign: Unicode.Scalar?
                if p < src.count, src[p] == "-" || src[p] == "+" { sign = src[p]; p += 1 }
                p = skipSpace(from: p)
                if at(p, "endraw") {
                    p = skipSpace(from: p + 6)
                    if let end = tagEnd(at: p, close: "%}", trim: true) {
                        emitText(pos, i, sign: sign, isVariable: false)
                        lineStarting = end > 0 && src[end - 1] == "\n"
                        advance(to: end)
                        return
                    }
                }
            }
            i += 1
        }
        throw ChatTemplateError.syntax("Missing end of raw directive", line: line)
    }

    /// The end offset of a closing delimiter (`+%}`, `-%}` plus whitespace, `%}` plus one newline
    /// when trimming) starting at `p`, or nil.
    private func tagEnd(at p: Int, close: String, trim: Bool) -> Int? {
        let n = close.unicodeScalars.count
        if trim && at(p, "+" + close) { return p + 1 + n }
        if at(p, "-" + close) { return skipSpace(from: p + 1 + n) }
        if at(p, close) {
            let e = p + n
            return trim && e < src.count && src[e] == "\n" ? e + 1 : e
        }
        return nil
    }

    private mutating func lexComment() throws {
        var i = pos
        while i < src.count {
            if let end = tagEnd(at: i, close: "#}", trim: true) {
                lineStarting = src[end - 1] == "\n"
                advance(to: end)
                return
            }
            i += 1
        }
        throw ChatTemplateError.syntax("Missing end of comment tag", line: line)
    }

    private mutating func lexTag(block: Bool) throws {
        var balance: [Unicode.Scalar] = []
        let open = line
        while true {
            if balance.isEmpty,
               let end = tagEnd(at: pos, close: block ? "%}" : "}}", trim: block) {
                emit(block ? .blockEnd : .variableEnd)
                lineStarting = src[end - 1] == "\n"
                advance(to: end)
                return
            }
            guard pos < src.count else {
                throw ChatTemplateError.syntax(
                    "unexpected end of template inside a tag opened at line \(open)", line: line)
            }
            let c = src[pos]
            if Python.isSpace(c) {
                advance(to: skipSpace(from: pos))
            } else if c.properties.numericType == .decimal && c.isASCII {
                try lexNumber()
            } else if c == "_" || c.properties.isAlphabetic {
                var e = pos + 1
                while e < src.count, src[e] == "_" || src[e].properties.isAlphabetic
                    || src[e].properties.numericType == .decimal || src[e].properties.generalCategory == .nonspacingMark {
                    e += 1
                }
                emit(.name(String(scalars: src[pos..<e])))
                advance(to: e)
            } else if c == "'" || c == "\"" {
                try lexString(quote: c)
            } else if let op = Lexer.operators.first(where: { at(pos, String(scalars: $0)) }) {
                let s = String(scalars: op)
                try balanceBrackets(s, &balance)
                emit(.op(s))
                advance(to: pos + op.count)
            } else {
                throw ChatTemplateError.syntax("unexpected char '\(Character(c))'", line: line)
            }
        }
    }

    private func balanceBrackets(_ op: String, _ stack: inout [Unicode.Scalar]) throws {
        switch op {
        case "{": stack.append("}")
        case "(": stack.append(")")
        case "[": stack.append("]")
        case "}", ")", "]":
            guard let expected = stack.popLast() else {
                throw ChatTemplateError.syntax("unexpected '\(op)'", line: line)
            }
            if String(expected) != op {
                throw ChatTemplateError.syntax("unexpected '\(op)', expected '\(expected)'", line: line)
            }
        default: break
        }
    }

    // MARK: literals

    private func digitRun(from p: Int, radix: Int = 10) -> Int {
        var i = p
        while i < src.count {
            if src[i] == "_", i + 1 < src.count, Int(String(src[i + 1]), radix: radix) != nil, i > p {
                i += 1
            } else if src[i].isASCII, Int(String(src[i]), radix: radix) != nil {
                i += 1
            } else {
                break
            }
        }
        return i
    }

    /// float_re / integer_re of jinja2's lexer (underscores allowed between digits).
    private mutating func lexNumber() throws {
        let intEnd = digitRun(from: pos)
        if pos == 0 || src[pos - 1] != "." {
            var e = intEnd
            var isFloat = false
            if e + 1 < src.count, src[e] == ".", src[e + 1].isASCII, src[e + 1].properties.numericType == .decimal {
                e = digitRun(from: e + 1)
                isFloat = true
            }
            if e < src.count, src[e] == "e" || src[e] == "E" {
                var x = e + 1
                if x < src.count, src[x] == "+" || src[x] == "-" { x += 1 }
                let xe = digitRun(from: x)
                if xe > x { e = xe; isFloat = true }
            }
            if isFloat {
                let text = String(String(scalars: src[pos..<e]).filter { $0 != "_" })
                guard let d = Double(text) else { throw ChatTemplateError.syntax("bad number \(text)", line: line) }
                emit(.float(d))
                advance(to: e)
                return
            }
        }
        var radix = 10
        var start = pos
        var end = intEnd
        if src[pos] == "0", pos + 1 < src.count {
            switch src[pos + 1] {
            case "b", "B": radix = 2
            case "o", "O": radix = 8
            case "x", "X": radix = 16
            default: break
            }
            if radix != 10 {
                start = pos + 2
                end = digitRun(from: start, radix: radix)
                if end == start { end = pos + 1; radix = 10; start = pos }
            } else {
                // "0(_?0)*": a leading zero only continues with zeros.
                end = pos + 1
                while end < src.count, src[end] == "0" || (src[end] == "_" && end + 1 < src.count && src[end + 1] == "0") { end += 1 }
            }
        }
        let text = String(String(scalars: src[start..<end]).filter { $0 != "_" })
        guard let v = Int(text, radix: radix) else {
            throw ChatTemplateError.syntax("integer literal \(text) out of range", line: line)
        }
        emit(.integer(v))
        advance(to: end)
    }

    /// A quoted string with Python `unicode-escape` decoding, as jinja2 does.
    private mutating func lexString(quote: Unicode.Scalar) throws {
        var out = String.UnicodeScalarView()
        var i = pos + 1
        let startLine = line
        while i < src.count, src[i] != quote {
            let c = src[i]
            guard c == "\\", i + 1 < src.count else { out.append(c); i += 1; continue }
            let e = src[i + 1]
            i += 2
            switch e {
            case "\n": break
            case "\\", "'", "\"": out.append(e)
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var v = e.value - 48
                var k = 0
                while k < 2, i < src.count, ("0"..."7").contains(src[i]) { v = v * 8 + src[i].value - 48; i += 1; k += 1 }
                out.append(Unicode.Scalar(v)!)
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                guard i + width <= src.count, let v = UInt32(String(scalars: src[i..<(i + width)]), radix: 16),
                      let u = Unicode.Scalar(v) else {
                    throw ChatTemplateError.syntax("truncated \\\(e) escape in string literal", line: line)
                }
                out.append(u)
                i += width
            case "N":
                throw ChatTemplateError.unsupported("\\N{...} escape in string literal", line: line)
            default:
                out.append("\\"); out.append(e)
            }
        }
        guard i < src.count else {
            throw ChatTemplateError.syntax("unterminated string literal", line: startLine)
        }
        emit(.string(String(out)))
        advance(to: i + 1)
    }
}
