// Python methods templates call on str, dict and list (`content.split('</think>')`, `m.get('x')`).
// Mutating list/dict methods are refused, as jinja2's ImmutableSandboxedEnvironment does.

enum Methods {
    static let stringMethods: Set<String> = [
        "split", "rsplit", "strip", "lstrip", "rstrip", "startswith", "endswith", "replace", "upper", "lower",
        "title", "capitalize", "swapcase", "find", "rfind", "index", "rindex", "count", "join", "splitlines",
        "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower", "isnumeric", "isdecimal", "format",
        "removeprefix", "removesuffix", "zfill", "ljust", "rjust", "partition", "rpartition", "casefold", "isascii",
    ]
    /// Python methods that exist but are not implemented: calling one is a named unsupported error.
    static let otherPythonMethods: Set<String> = [
        "center", "encode", "expandtabs", "format_map", "isidentifier", "isprintable", "istitle", "maketrans",
        "translate", "fromkeys",
    ]
    static let dictMethods: Set<String> = ["get", "items", "keys", "values", "copy"]
    static let listMethods: Set<String> = ["index", "count", "copy"]
    static let unsafe: Set<String> = [
        "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update", "setdefault", "popitem",
    ]

    /// `obj.name` as a bound method, or nil when `obj` has no such method.
    static func bound(_ obj: Value, _ name: String) -> Value? {
        let known: Bool
        switch obj {
        case .string: known = stringMethods.contains(name) || otherPythonMethods.contains(name)
        case .dict: known = dictMethods.contains(name) || unsafe.contains(name)
        case .array: known = listMethods.contains(name) || unsafe.contains(name)
        case .tuple: known = name == "index" || name == "count"
        default: known = false
        }
        guard known else { return nil }
        return .function(Function(name) { args, kwargs in try call(obj, name, Arguments(name, args, kwargs)) })
    }

    static func call(_ obj: Value, _ name: String, _ args: Arguments) throws -> Value {
        if unsafe.contains(name) {
            throw ChatTemplateError.type("access to attribute '\(name)' of '\(obj.typeName)' object is unsafe", line: 0)
        }
        switch obj {
        case let .string(s): return try string(s, name, args)
        case let .dict(d):
            switch name {
            case "get": return d[args.get(0, "key") ?? .none] ?? (args.get(1, "default") ?? .none)
            case "items": return .iterator(PyIterator(items: d.map { .tuple([$0, $1]) }, kind: .dictItems))
            case "keys": return .iterator(PyIterator(items: d.keys, kind: .dictKeys))
            case "values": return .iterator(PyIterator(items: d.values, kind: .dictValues))
            default: return obj
            }
        case let .array(a), let .tuple(a):
            let x = args.get(0, "value") ?? .none
            switch name {
            case "count": return .int(a.filter { $0.pyEquals(x) }.count)
            case "index":
                guard let i = a.firstIndex(where: { $0.pyEquals(x) }) else {
                    throw ChatTemplateError.type("\(x.pyRepr) is not in list", line: 0)
                }
                return .int(i)
            default: return obj
            }
        default:
            throw ChatTemplateError.unsupported("method '\(name)' on \(obj.typeName)", line: 0)
        }
    }

    private static func string(_ s: String, _ name: String, _ args: Arguments) throws -> Value {
        switch name {
        case "strip", "lstrip", "rstrip":
            return .string(s.pyStrip(try args.string(0, "chars"), leading: name != "rstrip", trailing: name != "lstrip"))
        case "split", "rsplit":
            let parts = try split(s, sep: try args.string(0, "sep"), maxsplit: try args.int(1, "maxsplit", -1),
                                  fromRight: name == "rsplit")
            return .array(parts.map { .string($0) })
        case "startswith", "endswith":
            let candidates: [Value]
            if let a = args.get(0, "prefix")?.sequenceItems { candidates = a } else { candidates = [args.get(0, "prefix") ?? .none] }
            let sc = s.scalars
            return .bool(try candidates.contains { c in
                guard case let .string(p) = c else {
                    throw ChatTemplateError.type("\(name) first arg must be str or a tuple of str, not \(c.typeName)", line: 0)
                }
                let ps = p.scalars
                return name == "startswith" ? sc.starts(with: ps) : sc.reversed().starts(with: ps.reversed())
            })
        case "replace":
            guard let old = try args.string(0, "old"), let new = try args.string(1, "new") else {
                throw ChatTemplateError.type("replace() takes 2 string arguments", line: 0)
            }
            let count = try args.int(2, "count", -1)
            return .string(replace(s, old, new, count: count < 0 ? Int.max : count))
        case "upper": return .string(s.uppercased())
        case "lower": return .string(s.lowercased())
        case "swapcase":
            return .string(s.map { $0.isUppercase ? $0.lowercased() : $0.uppercased() }.joined())
        case "capitalize":
            guard let f = s.first else { return .string(s) }
            return .string(String(f).uppercased() + s.dropFirst().lowercased())
        case "title":
            var out = "", previousCased = false
            for c in s {
                out += previousCased ? c.lowercased() : c.uppercased()
                previousCased = c.isLetter
            }
            return .string(out)
        case "find", "rfind", "index", "rindex", "count":
            guard let sub = try args.string(0, "sub") else { throw ChatTemplateError.type("\(name) needs a string", line: 0) }
            if name == "count" { return .int(sub.isEmpty ? s.unicodeScalars.count + 1 : s.occurrences(of: sub).count) }
            let hits = sub.isEmpty ? [0] : allOffsets(s, sub)
            let hit = name.hasPrefix("r") ? hits.last : hits.first
            if hit == nil && name.hasSuffix("index") { throw ChatTemplateError.type("substring not found", line: 0) }
            return .int(hit ?? -1)
        case "join":
            guard let items = args.get(0, "iterable") else { throw ChatTemplateError.type("join() takes one argument", line: 0) }
            let parts = try Evaluator().iterate(items).map { v -> String in
                guard case let .string(p) = v else {
                    throw ChatTemplateError.type("sequence item: expected str instance, \(v.typeName) found", line: 0)
                }
                return p
            }
            return .string(parts.joined(separator: s))
        case "splitlines":
            return .array(splitLines(s, keepEnds: args.bool(0, "keepends", false)).map { .string($0) })
        case "removeprefix", "removesuffix":
            let a = (try args.string(0, "prefix")) ?? ""
            let sc = s.scalars, ac = a.scalars
            if name == "removeprefix", sc.starts(with: ac) { return .string(String(scalars: sc.dropFirst(ac.count))) }
            if name == "removesuffix", !ac.isEmpty, sc.reversed().starts(with: ac.reversed()) {
                return .string(String(scalars: sc.dropLast(ac.count)))
            }
            return .string(s)
        case "isdigit", "isdecimal", "isnumeric":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
        case "isalpha": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(Python.isSpace))
        case "isupper": return .bool(s.contains { $0.isCased } && s == s.uppercased())
        case "islower": return .bool(s.contains { $0.isCased } && s == s.lowercased())
        case "format": return .string(try format(s, args))
        case "casefold": return .string(s.lowercased())
        case "isascii": return .bool(s.unicodeScalars.allSatisfy(\.isASCII))
        case "zfill", "ljust", "rjust":
            let width = min(try args.int(0, "width", 0), Operators.maxRepeat), n = s.unicodeScalars.count
            guard width > n else { return .string(s) }
            let fill = name == "zfill" ? "0" : (try args.string(1, "fillchar") ?? " ")
            let pad = String(repeating: fill, count: width - n)
            if name == "ljust" { return .string(s + pad) }
            if name == "zfill", let f = s.unicodeScalars.first, f == "-" || f == "+" {
                return .string(String(f) + pad + String(s.unicodeScalars.dropFirst()))
            }
            return .string(pad + s)
        case "partition", "rpartition":
            guard let sep = try args.string(0, "sep"), !sep.isEmpty else { throw ChatTemplateError.type("empty separator", line: 0) }
            let parts = try split(s, sep: sep, maxsplit: 1, fromRight: name == "rpartition")
            if parts.count == 2 { return .tuple([.string(parts[0]), .string(sep), .string(parts[1])]) }
            return .tuple(name == "partition" ? [.string(s), .string(""), .string("")] : [.string(""), .string(""), .string(s)])
        default: throw ChatTemplateError.unsupported("str method '\(name)'", line: 0)
        }
    }

    /// Offsets of every (possibly overlapping) occurrence, for find/rfind.
    private static func allOffsets(_ s: String, _ sub: String) -> [Int] {
        let h = s.scalars, n = sub.scalars
        guard n.count <= h.count else { return [] }
        return (0...(h.count - n.count)).filter { h[$0..<($0 + n.count)].elementsEqual(n) }
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        let sc = s.scalars
        if old.isEmpty {
            // Python inserts `new` before every code point and at the end.
            var out = String.UnicodeScalarView(), used = 0
            for c in sc {
                if used < count { out.append(contentsOf: new.unicodeScalars); used += 1 }
                out.append(c)
            }
            if used < count { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        var out = String.UnicodeScalarView(), last = 0
        for hit in s.occurrences(of: old, limit: count) {
            out.append(contentsOf: sc[last..<hit]); out.append(contentsOf: new.unicodeScalars)
            last = hit + old.unicodeScalars.count
        }
        out.append(contentsOf: sc[last...])
        return String(out)
    }

    /// Python str.split / str.rsplit.
    static func split(_ s: String, sep: String?, maxsplit: Int, fromRight: Bool) throws -> [String] {
        let limit = maxsplit < 0 ? Int.max : maxsplit
        let sc = s.scalars
        guard let sep else {
            // Runs of whitespace separate; leading/trailing whitespace yields no empty strings.
            var words: [[Unicode.Scalar]] = []
            var cur: [Unicode.Scalar] = []
            let seq = fromRight ? sc.reversed() : sc
            var i = 0
            while i < seq.count {
                let c = seq[i]
                if Python.isSpace(c) {
                    if !cur.isEmpty {
                        words.append(cur); cur = []
                        if words.count == limit {
                            var rest = Array(seq[i...])
                            while let f = rest.first, Python.isSpace(f) { rest.removeFirst() }
                            if !rest.isEmpty { words.append(rest) }
                            break
                        }
                    }
                } else {
                    cur.append(c)
                }
                i += 1
            }
            if i >= seq.count && !cur.isEmpty { words.append(cur) }
            if fromRight { return words.reversed().map { String(scalars: $0.reversed()) } }
            return words.map { String(scalars: $0) }
        }
        guard !sep.isEmpty else { throw ChatTemplateError.type("empty separator", line: 0) }
        var hits = s.occurrences(of: sep)
        if hits.count > limit { hits = fromRight ? Array(hits.suffix(limit)) : Array(hits.prefix(limit)) }
        var parts: [String] = []
        var last = 0
        let n = sep.unicodeScalars.count
        for h in hits { parts.append(String(scalars: sc[last..<h])); last = h + n }
        parts.append(String(scalars: sc[last...]))
        return parts
    }

    /// Python str.splitlines (\n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029).
    static func splitLines(_ s: String, keepEnds: Bool) -> [String] {
        let sc = s.scalars
        var lines: [String] = []
        var start = 0, i = 0
        while i < sc.count {
            let v = sc[i].value
            if [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029].contains(v) {
                var end = i + 1
                if v == 0x0D, end < sc.count, sc[end] == "\n" { end += 1 }
                lines.append(String(scalars: sc[start..<(keepEnds ? end : i)]))
                start = end; i = end
            } else {
                i += 1
            }
        }
        if start < sc.count { lines.append(String(scalars: sc[start...])) }
        return lines
    }

    /// `str.format` with `{}`, `{0}` and `{name}` fields (no format specs).
    private static func format(_ s: String, _ args: Arguments) throws -> String {
        var out = "", auto = 0
        var it = s.unicodeScalars.makeIterator()
        while let c = it.next() {
            if c == "{" {
                var field = ""
                var closed = false
                while let d = it.next() {
                    if d == "{" && field.isEmpty { out += "{"; closed = true; field = "\u{0}"; break }
                    if d == "}" { closed = true; break }
                    field.unicodeScalars.append(d)
                }
                if field == "\u{0}" { continue }
                guard closed, !field.contains(":"), !field.contains("!") else {
                    throw ChatTemplateError.unsupported("str.format field '{\(field)}'", line: 0)
                }
                let v: Value?
                if field.isEmpty { v = args.positional.indices.contains(auto) ? args.positional[auto] : nil; auto += 1 }
                else if let i = Int(field) { v = args.positional.indices.contains(i) ? args.positional[i] : nil }
                else { v = args.keywords.last(where: { $0.0 == field })?.1 }
                guard let v else { throw ChatTemplateError.type("format: missing argument '\(field)'", line: 0) }
                out += v.pyStr
            } else if c == "}" {
                _ = it.next()
                out += "}"
            } else {
                out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
