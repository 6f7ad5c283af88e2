// CPython behaviour the templates observe: str()/repr(), ==, <, float repr, str.isspace.
// Strings are compared and indexed by Unicode code point (Python), never by Swift Character.

extension Value {
    /// Python `str(x)` as Jinja prints it (`{{ x }}`); Undefined prints as "".
    public var pyStr: String {
        switch self {
        case .undefined: return ""
        case let .string(s): return s
        default: return pyRepr
        }
    }

    /// Python `repr(x)`.
    public var pyRepr: String {
        var seen = Set<ObjectIdentifier>()
        return repr(&seen)
    }

    /// `seen` holds the namespaces being printed, so one that contains itself prints `{...}`.
    private func repr(_ seen: inout Set<ObjectIdentifier>) -> String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .double(d): return Python.floatRepr(d)
        case let .string(s): return Python.stringRepr(s)
        case let .array(a):
            return "[" + a.map { $0.repr(&seen) }.joined(separator: ", ") + "]"
        case let .tuple(a):
            return "(" + a.map { $0.repr(&seen) }.joined(separator: ", ") + (a.count == 1 ? ",)" : ")")
        case let .dict(d):
            return "{" + d.map { "\($0.repr(&seen)): \($1.repr(&seen))" }.joined(separator: ", ") + "}"
        case let .iterator(it):
            guard it.kind.isView else { return "<\(it.kind.rawValue) object>" }
            return it.kind.rawValue + "(" + Value.array(it.items).repr(&seen) + ")"
        case let .namespace(ns):
            let id = ObjectIdentifier(ns)
            if seen.contains(id) { return "<Namespace {...}>" }
            seen.insert(id)
            defer { seen.remove(id) }
            return "<Namespace " + Value.dict(ns.attributes).repr(&seen) + ">"
        case let .function(f): return "<function \(f.name)>"
        }
    }

    /// Python `==` (Jinja's Undefined equals only Undefined).
    public func pyEquals(_ other: Value) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case let (.array(a), .array(b)), let (.tuple(a), .tuple(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pyEquals($1) }
        case let (.dict(a), .dict(b)):
            return a.count == b.count && a.allSatisfy { k, v in b[k].map { $0.pyEquals(v) } ?? false }
        case let (.namespace(a), .namespace(b)): return a === b
        case let (.function(a), .function(b)): return a === b
        default:
            if let x = numeric, let y = other.numeric { return x == y }
            return false
        }
    }

    /// Python `<`; throws TypeError-like errors for unorderable types.
    func pyLess(_ other: Value) throws -> Bool {
        switch (self, other) {
        case let (.string(a), .string(b)):
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
        case let (.array(a), .array(b)), let (.tuple(a), .tuple(b)):
            for (x, y) in zip(a, b) where !x.pyEquals(y) { return try x.pyLess(y) }
            return a.count < b.count
        default:
            if let x = numeric, let y = other.numeric { return x < y }
            throw ChatTemplateError.type(
                "'<' not supported between instances of '\(typeName)' and '\(other.typeName)'", line: 0)
        }
    }

    /// Numeric view for mixed int/float/bool arithmetic and comparison.
    var numeric: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }
}

enum Python {
    /// CPython's `str.isspace()` set, also what `re`'s `\s` and `str.strip()` use.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F,
             0x205F, 0x3000:
            return true
        default: return false
        }
    }

    /// `repr(str)`: single quotes unless the text has ' and no ".
    static func stringRepr(_ s: String) -> String {
        let quote: Unicode.Scalar = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case quote: out.append("\\"); out.append(c)
            default:
                if c.value < 0x20 || c.value == 0x7F {
                    out.append(contentsOf: hex(c.value, prefix: "\\x", width: 2).unicodeScalars)
                } else if !isPrintable(c) {
                    let (p, w) = c.value <= 0xFF ? ("\\x", 2) : c.value <= 0xFFFF ? ("\\u", 4) : ("\\U", 8)
                    out.append(contentsOf: hex(c.value, prefix: p, width: w).unicodeScalars)
                } else {
                    out.append(c)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    /// Approximates CPython's `str.isprintable()` (categories C* and Z* except space are not).
    private static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        if c == " " { return true }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .spaceSeparator, .lineSeparator, .paragraphSeparator:
            return false
        default: return true
        }
    }

    static func hex(_ v: UInt32, prefix: String, width: Int) -> String {
        let h = String(v, radix: 16)
        return prefix + String(repeating: "0", count: max(0, width - h.count)) + h
    }

    /// `repr(float)`: shortest round-trip digits, positional for 1e-4 <= |x| < 1e16, else exponent.
    static func floatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let (negative, digits, exponent) = decompose(d)
        let sign = negative ? "-" : ""
        // value = 0.d1d2d3... × 10^exponent; Python's decimal exponent is exponent - 1.
        let e = exponent - 1
        if e < -4 || e >= 16 {
            var m = String(digits.first!)
            if digits.count > 1 { m += "." + digits.dropFirst() }
            let es = String(abs(e))
            return sign + m + "e" + (e < 0 ? "-" : "+") + (es.count < 2 ? "0" + es : es)
        }
        if exponent <= 0 {
            return sign + "0." + String(repeating: "0", count: -exponent) + digits
        }
        if digits.count <= exponent {
            return sign + digits + String(repeating: "0", count: exponent - digits.count) + ".0"
        }
        let cut = digits.index(digits.startIndex, offsetBy: exponent)
        return sign + digits[..<cut] + "." + digits[cut...]
    }

    /// Shortest round-trip decimal digits of `d` (Swift's description is shortest round-trip too)
    /// as (negative, digits without leading/trailing zeros, exponent) with d = 0.digits × 10^exponent.
    private static func decompose(_ d: Double) -> (Bool, String, Int) {
        var text = abs(d).description
        var exp10 = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp10 = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = String(parts[0])
        let frac = parts.count > 1 ? String(parts[1]) : ""
        var all = intPart + frac
        var exponent = intPart.count + exp10
        while all.first == "0" { all.removeFirst(); exponent -= 1 }
        while all.last == "0" { all.removeLast() }
        return (d < 0, all, exponent)
    }
}

/// Code-point string operations (Python indexes strings by code point).
extension String {
    var scalars: [Unicode.Scalar] { Array(unicodeScalars) }

    init(scalars: some Sequence<Unicode.Scalar>) {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        self = String(v)
    }

    /// Code-point offsets of non-overlapping occurrences of `needle`, left to right.
    func occurrences(of needle: String, limit: Int = .max) -> [Int] {
        let h = scalars, n = needle.scalars
        guard !n.isEmpty, n.count <= h.count else { return [] }
        var result: [Int] = []
        var i = 0
        while i <= h.count - n.count, result.count < limit {
            if h[i] == n[0] && h[i..<(i + n.count)].elementsEqual(n) {
                result.append(i)
                i += n.count
            } else {
                i += 1
            }
        }
        return result
    }

    func pyContains(_ needle: String) -> Bool {
        needle.isEmpty || !occurrences(of: needle, limit: 1).isEmpty
    }

    func pyStrip(_ chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { c in set?.contains(c) ?? Python.isSpace(c) }
        var s = scalars[...]
        if leading { while let f = s.first, drop(f) { s.removeFirst() } }
        if trailing { while let l = s.last, drop(l) { s.removeLast() } }
        return String(scalars: s)
    }
}
