// Jinja's builtin filters (jinja2/filters.py) that chat templates use, plus transformers' `tojson`.

extension Builtins {
    static let filterNames: Set<String> = [
        "abs", "attribute", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "first", "float", "format", "indent", "int", "items", "join", "last", "length", "list", "lower",
        "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select",
        "selectattr", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper", "wordcount",
    ]

    static func filter(_ name: String, _ v: Value, _ args: Arguments, _ ev: Evaluator) throws -> Value {
        switch name {
        case "default", "d":
            let fallback = args.get(0, "default_value") ?? .string("")
            return v.isUndefined || (args.bool(1, "boolean", false) && !v.isTruthy) ? fallback : v
        case "length", "count":
            switch v {
            case let .string(s): return .int(s.unicodeScalars.count)
            case let .array(a), let .tuple(a): return .int(a.count)
            case let .dict(d): return .int(d.count)
            case let .iterator(it) where it.kind.isView: return .int(it.items.count)
            case .undefined: return .int(0)
            default: throw ChatTemplateError.type("object of type '\(v.typeName)' has no len()", line: 0)
            }
        case "string": return .string(v.pyStr)
        case "safe": return .string(v.pyStr)  // Markup(str(value))
        case "e", "escape": return .string(htmlEscape(v.pyStr))
        case "trim": return .string(v.pyStr.pyStrip(try args.string(0, "chars"), leading: true, trailing: true))
        case "upper": return .string(v.pyStr.uppercased())
        case "lower": return .string(v.pyStr.lowercased())
        case "capitalize": return try Methods.call(.string(v.pyStr), name, Arguments(name, []))
        case "title": return .string(title(v.pyStr))
        case "replace":
            return try Methods.call(.string(v.pyStr), "replace", Arguments("replace", Array(args.positional.prefix(3))))
        case "tojson":
            // transformers' signature: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
            return .string(try PyJSON.encode(v, indent: args.get(1, "indent"),
                                           ensureASCII: args.bool(0, "ensure_ascii", false),
                                           sortKeys: args.bool(3, "sort_keys", false),
                                           separators: args.get(2, "separators")))
        case "first": return try ev.iterate(v).first ?? .undefined("No first item, sequence was empty.")
        case "last":
            if case let .iterator(it) = v, !it.kind.isView {
                throw ChatTemplateError.type("'\(it.kind.rawValue)' object is not reversible", line: 0)
            }
            return try ev.iterate(v).last ?? .undefined("No last item, sequence was empty.")
        case "list": return .array(try ev.iterate(v))
        case "reverse":
            if case let .string(s) = v { return .string(String(scalars: s.scalars.reversed())) }
            if case let .iterator(it) = v, !it.kind.isView { return .array(it.items.reversed()) }
            let items: [Value]
            do { items = try ev.iterate(v) } catch { throw ChatTemplateError.type("argument must be iterable", line: 0) }
            return generator(items.reversed(), kind: .listReverseIterator)
        case "items":
            if v.isUndefined { return generator([]) }
            return generator(try pairs(v))
        case "join":
            var items = try ev.iterate(v)
            if let attr = try args.string(1, "attribute") { items = try items.map { try lookup($0, attr, ev) } }
            return .string(items.map(\.pyStr).joined(separator: try args.string(0, "d") ?? ""))
        case "attribute": return try lookup(v, args.get(0, "name")?.pyStr ?? "", ev)
        case "map": return generator(try map(v, args, ev))
        case "select", "reject", "selectattr", "rejectattr": return generator(try select(name, v, args, ev))
        case "unique": return generator(try ordering(name, v, args, ev).sequenceItems ?? [])
        case "int" where v.isUndefined, "float" where v.isUndefined:
            throw ChatTemplateError.undefined(v.undefinedHint, line: 0)
        case "int": return toInt(v) ?? (args.get(0, "default") ?? .int(0))
        case "float":
            if let n = v.numeric { return .double(n) }
            if case let .string(s) = v, let d = Double(s.pyStrip(nil, leading: true, trailing: true)) { return .double(d) }
            return args.get(0, "default") ?? .double(0)
        case "abs":
            switch v {
            case let .int(i):
                guard i != .min else { throw ChatTemplateError.type("integer overflow in abs", line: 0) }
                return .int(abs(i))
            case let .double(d): return .double(abs(d))
            case let .bool(b): return .int(b ? 1 : 0)
            default: throw ChatTemplateError.type("bad operand type for abs(): '\(v.typeName)'", line: 0)
            }
        case "round":
            guard let n = v.numeric else { throw ChatTemplateError.type("round needs a number", line: 0) }
            let p = min(max(try args.int(0, "precision", 0), -400), 400)
            let method = try args.string(1, "method") ?? "common"
            let scale = pow10(p)
            // "common" is Python's round(): half to even.
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrEven
            // Python's round(int, n) stays an int; math.floor/ceil(x * 10**p) / 10**p is a float.
            if method == "common", let i = Operators.index(v), p >= 0 { return .int(i) }
            return .double((n * scale).rounded(rule) / scale)
        case "indent": return .string(try indent(v.pyStr, args))
        case "center":
            let width = min(try args.int(0, "width", 80), Operators.maxRepeat)
            let s = v.pyStr, n = s.unicodeScalars.count
            guard width > n else { return .string(s) }
            let left = (width - n) / 2 + ((width - n) % 2 & width % 2)
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: width - n - left))
        case "wordcount":
            return .int(v.pyStr.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).count)
        case "format": return .string(try Operators.percentFormat(v.pyStr, .tuple(args.positional)))
        case "sum":
            var items = try ev.iterate(v)
            if let attr = try args.string(0, "attribute") { items = try items.map { try lookup($0, attr, ev) } }
            return try items.reduce(args.get(1, "start") ?? .int(0)) { try Operators.binary("+", $0, $1) }
        case "sort", "min", "max", "dictsort": return try ordering(name, v, args, ev)
        default: throw ChatTemplateError.unsupported("filter '\(name)'", line: 0)
        }
    }

    /// Jinja's `title`: upper-cases the first character of each run after `-`, whitespace, `(`,
    /// `{`, `[` or `<`, and lower-cases the rest (unlike Python's str.title()).
    private static func title(_ s: String) -> String {
        var out = "", atStart = true
        for c in s.unicodeScalars {
            let separator = c == "-" || c == "(" || c == "{" || c == "[" || c == "<" || Python.isSpace(c)
            if separator {
                out.unicodeScalars.append(c)
                atStart = true
            } else {
                out += atStart ? String(c).uppercased() : String(c).lowercased()
                atStart = false
            }
        }
        return out
    }

    /// A filter result that Jinja produces lazily (see `Value.iterator`): an error computing it
    /// surfaces only when the generator is iterated, as in Python.
    private static func generator(_ items: @autoclosure () throws -> [Value], kind: PyIterator.Kind = .generator) -> Value {
        do {
            return .iterator(PyIterator(items: try items(), kind: kind))
        } catch let e as ChatTemplateError {
            return .iterator(PyIterator(items: [], kind: kind, failure: e))
        } catch {
            return .iterator(PyIterator(items: [], kind: kind, failure: .type("\(error)", line: 0)))
        }
    }

    private static func pairs(_ v: Value) throws -> [Value] {
        guard case let .dict(d) = v else { throw ChatTemplateError.type("Can only get item pairs from a mapping.", line: 0) }
        return d.map { .tuple([$0, $1]) }
    }

    private static func pow10(_ p: Int) -> Double {
        var r = 1.0
        for _ in 0..<abs(p) { r *= 10 }
        return p < 0 ? 1 / r : r
    }

    /// Jinja's `int` filter: int(value), or int(float(value)) for strings like "1.5"; nil → default.
    private static func toInt(_ v: Value) -> Value? {
        switch v {
        case let .int(i): return .int(i)
        case let .bool(b): return .int(b ? 1 : 0)
        case let .double(d): return Int(exactly: d.rounded(.towardZero)).map { .int($0) }
        case let .string(s):
            let t = s.pyStrip(nil, leading: true, trailing: true)
            if let i = Int(String(t.filter { $0 != "_" })) { return .int(i) }
            if let d = Double(t), let i = Int(exactly: d.rounded(.towardZero)) { return .int(i) }
            return nil
        default: return nil
        }
    }

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Jinja's attribute path lookup for filters (`"a.b"`, integer parts index lists).
    static func lookup(_ v: Value, _ path: String, _ ev: Evaluator) throws -> Value {
        var cur = v
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            let key: Value = Int(part).map { .int($0) } ?? .string(String(part))
            cur = try ev.getItem(cur, key)
        }
        return cur
    }

    private static func map(_ v: Value, _ args: Arguments, _ ev: Evaluator) throws -> [Value] {
        // Jinja maps nothing over a falsy value (`none | map(...)` is empty, not an error).
        let items = v.isTruthy ? try ev.iterate(v) : []
        if let attr = args.keywords.last(where: { $0.0 == "attribute" })?.1.pyStr {
            let def = args.keywords.last(where: { $0.0 == "default" })?.1
            return try items.map { item in
                let r = try lookup(item, attr, ev)
                return r.isUndefined ? (def ?? r) : r
            }
        }
        guard let filterName = args.positional.first?.pyStr else {
            throw ChatTemplateError.type("map requires a filter name or attribute=", line: 0)
        }
        let rest = Arguments(filterName, Array(args.positional.dropFirst()), args.keywords)
        return try items.map { try filter(filterName, $0, rest, ev) }
    }

    private static func select(_ name: String, _ v: Value, _ args: Arguments, _ ev: Evaluator) throws -> [Value] {
        let byAttribute = name.hasSuffix("attr")
        let keep = name.hasPrefix("select")
        let attr = byAttribute ? args.positional.first?.pyStr : nil
        let testIndex = byAttribute ? 1 : 0
        let testName = args.positional.count > testIndex ? args.positional[testIndex].pyStr : nil
        let testArgs = Arguments(testName ?? "", Array(args.positional.dropFirst(testIndex + 1)), args.keywords)
        let items = v.isTruthy ? try ev.iterate(v) : []  // as Jinja: nothing selected from a falsy value
        return try items.filter { item in
            let subject = try attr.map { try lookup(item, $0, ev) } ?? item
            let passed = try testName.map { try test($0, subject, testArgs, ev) } ?? subject.isTruthy
            return passed == keep
        }
    }

    private static func indent(_ s: String, _ args: Arguments) throws -> String {
        let width = args.get(0, "width") ?? .int(4)
        let pad: String
        if case let .string(w) = width { pad = w } else { pad = String(repeating: " ", count: Operators.index(width) ?? 4) }
        let first = args.bool(1, "first", false), blank = args.bool(2, "blank", false)
        let lines = try Methods.call(.string(s + "\n"), "splitlines", Arguments("splitlines", []))
        var parts = (try? Builtins.stringArray(lines)) ?? []
        var rv = ""
        if blank {
            rv = parts.joined(separator: "\n" + pad)
        } else {
            rv = parts.isEmpty ? "" : parts.removeFirst()
            if !parts.isEmpty { rv += "\n" + parts.map { $0.isEmpty ? $0 : pad + $0 }.joined(separator: "\n") }
        }
        return first ? pad + rv : rv
    }

    static func stringArray(_ v: Value) throws -> [String] {
        guard let a = v.sequenceItems else { throw ChatTemplateError.type("expected a list", line: 0) }
        return a.map(\.pyStr)
    }

    /// sort / unique / min / max / dictsort, case-insensitive by default as in Jinja.
    private static func ordering(_ name: String, _ v: Value, _ args: Arguments, _ ev: Evaluator) throws -> Value {
        let attrIndex = name == "sort" ? 2 : name == "dictsort" ? -1 : 1
        let caseIndex = name == "sort" ? 1 : 0
        let caseSensitive = args.bool(caseIndex, "case_sensitive", false)
        let attr = try args.string(attrIndex, "attribute")
        func key(_ item: Value) throws -> Value {
            var k = try attr.map { try lookup(item, $0, ev) } ?? item
            if !caseSensitive, case let .string(s) = k { k = .string(s.lowercased()) }
            return k
        }
        if name == "dictsort" {
            guard case let .dict(d) = v else { throw ChatTemplateError.type("dictsort needs a mapping", line: 0) }
            let byValue = (try args.string(1, "by")) == "value"
            var pairs = d.map { [$0, $1] }
            try pairs.sort { try key(byValue ? $0[1] : $0[0]).pyLess(key(byValue ? $1[1] : $1[0])) }
            if args.bool(2, "reverse", false) { pairs.reverse() }
            return .array(pairs.map { .tuple($0) })
        }
        var items = try ev.iterate(v)
        switch name {
        case "sort":
            try items.sort { try key($0).pyLess(key($1)) }
            if args.bool(0, "reverse", false) { items.reverse() }
            return .array(items)
        case "unique":
            var seen: [Value] = []
            var out: [Value] = []
            for item in items {
                let k = try key(item)
                if !seen.contains(where: { $0.pyEquals(k) }) { seen.append(k); out.append(item) }
            }
            return .array(out)
        default:
            guard var best = items.first else { return .undefined("No aggregated item, sequence was empty.") }
            for item in items.dropFirst() {
                let better = name == "min" ? try key(item).pyLess(key(best)) : try key(best).pyLess(key(item))
                if better { best = item }
            }
            return best
        }
    }
}
