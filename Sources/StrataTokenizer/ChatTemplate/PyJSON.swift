// JSON in and out with Python's semantics: parsing keeps key order and int vs float (as
// `json.loads`); encoding matches `json.dumps` (transformers' `tojson` filter).

public enum PyJSON {
    /// Parses JSON text into a `Value` (objects keep key order; `1` is an int, `1.0` a float).
    public static func parse(_ text: String) throws -> Value {
        var p = PyJSONParser(Array(text.unicodeScalars))
        p.skipSpace()
        let v = try p.value()
        p.skipSpace()
        guard p.i == p.s.count else { throw p.fail("extra data") }
        return v
    }

    /// `json.dumps(v, ensure_ascii=, indent=, separators=, sort_keys=)`.
    public static func encode(_ v: Value, indent: Value? = nil, ensureASCII: Bool = false, sortKeys: Bool = false,
                              separators: Value? = nil) throws -> String {
        var pad: String?
        switch indent {
        case nil, .none?: pad = nil
        case let .string(s)?: pad = s
        case let i?:
            guard let n = Operators.index(i) else { throw ChatTemplateError.type("tojson: bad indent", line: 0) }
            pad = String(repeating: " ", count: max(0, n))
        }
        var itemSep = pad == nil ? ", " : ",", keySep = ": "
        if let seps = separators?.sequenceItems, seps.count == 2 { itemSep = seps[0].pyStr; keySep = seps[1].pyStr }
        var out = ""
        try write(v, &out, pad: pad, level: 0, itemSep: itemSep, keySep: keySep, ascii: ensureASCII, sort: sortKeys)
        return out
    }

    private static func write(_ v: Value, _ out: inout String, pad: String?, level: Int, itemSep: String,
                              keySep: String, ascii: Bool, sort: Bool) throws {
        func newline(_ l: Int) { if let pad { out += "\n" + String(repeating: pad, count: l) } }
        switch v {
        case .none: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d):
            out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : Python.floatRepr(d)
        case let .string(s): quote(s, &out, ascii: ascii)
        case let .array(a), let .tuple(a):
            if a.isEmpty { out += "[]"; return }
            out += "["
            for (i, x) in a.enumerated() {
                if i > 0 { out += itemSep }
                newline(level + 1)
                try write(x, &out, pad: pad, level: level + 1, itemSep: itemSep, keySep: keySep, ascii: ascii, sort: sort)
            }
            newline(level)
            out += "]"
        case let .dict(d):
            if d.isEmpty { out += "{}"; return }
            var pairs = try d.map { (k, v) -> (String, Value) in (try keyString(k), v) }
            if sort { pairs.sort { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) { $0.value < $1.value } } }
            out += "{"
            for (i, (k, x)) in pairs.enumerated() {
                if i > 0 { out += itemSep }
                newline(level + 1)
                quote(k, &out, ascii: ascii)
                out += keySep
                try write(x, &out, pad: pad, level: level + 1, itemSep: itemSep, keySep: keySep, ascii: ascii, sort: sort)
            }
            newline(level)
            out += "}"
        case .undefined, .namespace, .function, .iterator:
            throw ChatTemplateError.type("Object of type \(v.typeName) is not JSON serializable", line: 0)
        }
    }

    private static func keyString(_ k: Value) throws -> String {
        switch k {
        case let .string(s): return s
        case let .bool(b): return b ? "true" : "false"
        case .none: return "null"
        case let .int(i): return String(i)
        case let .double(d): return Python.floatRepr(d)
        default: throw ChatTemplateError.type("keys must be str, int, float, bool or None, not \(k.typeName)", line: 0)
        }
    }

    static func quote(_ s: String, _ out: inout String, ascii: Bool) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 || (ascii && c.value > 0x7E) {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += Python.hex(0xD800 + (v >> 10), prefix: "\\u", width: 4)
                        out += Python.hex(0xDC00 + (v & 0x3FF), prefix: "\\u", width: 4)
                    } else {
                        out += Python.hex(c.value, prefix: "\\u", width: 4)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        out += "\""
    }
}

private struct PyJSONParser {
    let s: [Unicode.Scalar]
    var i = 0
    init(_ s: [Unicode.Scalar]) { self.s = s }

    func fail(_ m: String) -> ChatTemplateError { .invalidInput("invalid JSON at offset \(i): \(m)") }

    mutating func skipSpace() { while i < s.count, [" ", "\t", "\n", "\r"].contains(s[i]) { i += 1 } }

    mutating func literal(_ word: String, _ v: Value) throws -> Value {
        for c in word.unicodeScalars {
            guard i < s.count, s[i] == c else { throw fail("expected \(word)") }
            i += 1
        }
        return v
    }

    mutating func value() throws -> Value {
        guard i < s.count else { throw fail("unexpected end") }
        switch s[i] {
        case "{":
            i += 1
            var d = ValueDict()
            skipSpace()
            if i < s.count, s[i] == "}" { i += 1; return .dict(d) }
            while true {
                skipSpace()
                guard i < s.count, s[i] == "\"" else { throw fail("expected string key") }
                let k = try string()
                skipSpace()
                guard i < s.count, s[i] == ":" else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                d[k] = try value()
                skipSpace()
                guard i < s.count else { throw fail("unterminated object") }
                if s[i] == "," { i += 1; continue }
                if s[i] == "}" { i += 1; return .dict(d) }
                throw fail("expected ',' or '}'")
            }
        case "[":
            i += 1
            var a: [Value] = []
            skipSpace()
            if i < s.count, s[i] == "]" { i += 1; return .array(a) }
            while true {
                skipSpace()
                a.append(try value())
                skipSpace()
                guard i < s.count else { throw fail("unterminated array") }
                if s[i] == "," { i += 1; continue }
                if s[i] == "]" { i += 1; return .array(a) }
                throw fail("expected ',' or ']'")
            }
        case "\"": return .string(try string())
        case "t": return try literal("true", .bool(true))
        case "f": return try literal("false", .bool(false))
        case "n": return try literal("null", .none)
        default: return try number()
        }
    }

    mutating func number() throws -> Value {
        let start = i
        var isFloat = false
        while i < s.count, "+-0123456789.eE".unicodeScalars.contains(s[i]) {
            if [".", "e", "E"].contains(s[i]) { isFloat = true }
            i += 1
        }
        let text = String(String.UnicodeScalarView(s[start..<i]))
        if !isFloat, let n = Int(text) { return .int(n) }
        guard !text.isEmpty, let d = Double(text) else { throw fail("bad value") }
        return .double(d)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= s.count, let v = UInt32(String(String.UnicodeScalarView(s[i..<(i + 4)])), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }

    mutating func string() throws -> String {
        i += 1
        var out = String.UnicodeScalarView()
        while i < s.count {
            // Copy the run up to the next quote or backslash in one go.
            var end = i
            while end < s.count, s[end] != "\"", s[end] != "\\" { end += 1 }
            if end > i { out.append(contentsOf: s[i..<end]); i = end; continue }
            let c = s[i]
            i += 1
            if c == "\"" { return String(out) }
            guard i < s.count else { break }
            let e = s[i]
            i += 1
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "/", "\\", "\"": out.append(e)
            case "u":
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), i + 1 < s.count, s[i] == "\\", s[i + 1] == "u" {
                    let save = i
                    i += 2
                    let lo = try hex4()
                    if (0xDC00..<0xE000).contains(lo) { v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00) } else { i = save }
                }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            default: throw fail("bad escape \\\(e)")
            }
        }
        throw fail("unterminated string")
    }
}
