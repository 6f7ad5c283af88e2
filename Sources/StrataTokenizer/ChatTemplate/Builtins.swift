import Foundation

// Jinja tests (`x is defined`) and the globals transformers' environment provides
// (`namespace`, `raise_exception`, `strftime_now`, `dict`, `range`).

/// Call arguments with Python-style lookup by position or keyword.
struct Arguments {
    let name: String
    let positional: [Value]
    let keywords: [(String, Value)]

    init(_ name: String, _ positional: [Value], _ keywords: [(String, Value)] = []) {
        self.name = name
        self.positional = positional
        self.keywords = keywords
    }

    func get(_ i: Int, _ key: String) -> Value? {
        if i >= 0 && i < positional.count { return positional[i] }
        return keywords.last(where: { $0.0 == key })?.1
    }

    func bool(_ i: Int, _ key: String, _ def: Bool) -> Bool { get(i, key)?.isTruthy ?? def }

    func int(_ i: Int, _ key: String, _ def: Int) throws -> Int {
        guard let v = get(i, key), !v.isNone else { return def }
        guard let n = Operators.index(v) else { throw bad(key, "an integer", v) }
        return n
    }

    func string(_ i: Int, _ key: String) throws -> String? {
        guard let v = get(i, key), !v.isNone else { return nil }
        guard case let .string(s) = v else { throw bad(key, "a string", v) }
        return s
    }

    func bad(_ key: String, _ expected: String, _ v: Value) -> ChatTemplateError {
        .type("\(name): argument '\(key)' must be \(expected), not \(v.typeName)", line: 0)
    }
}

enum Builtins {
    static let testNames: Set<String> = [
        "defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number", "string",
        "mapping", "iterable", "sequence", "callable", "sameas", "escaped", "lower", "upper", "even", "odd",
        "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan",
        ">", "ge", ">=", "in", "filter", "test",
    ]

    static func test(_ name: String, _ v: Value, _ args: Arguments, _ ev: Evaluator) throws -> Bool {
        let other = args.get(0, "other") ?? .undefined("missing test argument")
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": return v.isNone
        case "boolean": if case .bool = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "true": if case .bool(true) = v { return true }; return false
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "number": return v.numeric != nil
        case "string": return v.stringValue != nil
        case "mapping": if case .dict = v { return true }; return false
        case "iterable", "sequence":
            switch v {
            case .array, .tuple, .dict, .string, .undefined: return true
            case let .iterator(it): return name == "iterable" || it.kind.isView
            default: return false
            }
        case "callable": if case .function = v { return true }; return false
        case "sameas":
            switch (v, other) {
            case let (.namespace(a), .namespace(b)): return a === b
            case let (.function(a), .function(b)): return a === b
            case (.none, .none): return true
            case let (.bool(a), .bool(b)): return a == b
            default: return false
            }
        case "escaped": return false
        case "lower", "upper": return try Methods.call(.string(v.pyStr), "is" + name, Arguments(name, [])).isTruthy
        case "even", "odd":
            // value % 2 == 0, so floats and bools work too.
            let r = try Operators.binary("%", v, .int(2))
            return r.pyEquals(.int(name == "even" ? 0 : 1))
        case "divisibleby":
            guard let n = Operators.index(v), let d = Operators.index(other), d != 0 else {
                throw ChatTemplateError.type("divisibleby test needs integers", line: 0)
            }
            return n % d == 0
        case "eq", "equalto", "==": return v.pyEquals(other)
        case "ne", "!=": return !v.pyEquals(other)
        case "lt", "lessthan", "<": return try Operators.compare("<", v, other)
        case "le", "<=": return try Operators.compare("<=", v, other)
        case "gt", "greaterthan", ">": return try Operators.compare(">", v, other)
        case "ge", ">=": return try Operators.compare(">=", v, other)
        case "in": return try Operators.contains(other, v)
        case "filter": return filterNames.contains(v.pyStr)
        case "test": return testNames.contains(v.pyStr)
        default: throw ChatTemplateError.unsupported("test '\(name)'", line: 0)
        }
    }

    /// The globals of transformers' chat-template environment (jinja2 defaults plus its own).
    static func globals() -> [String: Value] {
        [
            "namespace": .function(Function("namespace") { args, kwargs in
                var d = ValueDict()
                if case let .dict(initial)? = args.first { d = initial }
                for (k, v) in kwargs {
                    if k.hasPrefix("_") {
                        throw ChatTemplateError.type("namespace attributes cannot start with '_': \(k)", line: 0)
                    }
                    d[k] = v
                }
                return .namespace(Namespace(d))
            }),
            "dict": .function(Function("dict") { args, kwargs in
                var d = ValueDict()
                if case let .dict(initial)? = args.first { d = initial }
                for (k, v) in kwargs { d[k] = v }
                return .dict(d)
            }),
            "range": .function(Function("range") { args, _ in
                let ints = try args.map { v -> Int in
                    guard let i = Operators.index(v) else {
                        throw ChatTemplateError.type("'\(v.typeName)' object cannot be interpreted as an integer", line: 0)
                    }
                    return i
                }
                let (start, stop, step) = ints.count == 1 ? (0, ints[0], 1)
                    : ints.count == 2 ? (ints[0], ints[1], 1) : ints.count == 3 ? (ints[0], ints[1], ints[2]) : (0, 0, 0)
                guard step != 0 else { throw ChatTemplateError.type("range() arg 3 must not be zero", line: 0) }
                guard abs((stop - start) / step) <= 100_000 else {
                    throw ChatTemplateError.type("range too big", line: 0)
                }
                return .array(Swift.stride(from: start, to: stop, by: step).map { .int($0) })
            }),
            "raise_exception": .function(Function("raise_exception") { args, _ in
                throw ChatTemplateError.raised(args.first?.pyStr ?? "", line: 0)
            }),
            "strftime_now": .function(Function("strftime_now") { args, _ in
                .string(strftimeNow(args.first?.pyStr ?? ""))
            }),
        ]
    }

    /// `datetime.now().strftime(format)` in local time.
    static func strftimeNow(_ format: String) -> String {
        var t = time(nil)
        var tmValue = tm()
        localtime_r(&t, &tmValue)
        var buffer = [Int8](repeating: 0, count: 512)
        let n = strftime(&buffer, buffer.count, format, &tmValue)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
