import Foundation

// Python binary and comparison operators on template values.

enum Operators {
    /// Largest repetition (`'ab' * n`, padding widths) a template may ask for; beyond it is an error
    /// rather than an attempt to allocate gigabytes.
    static let maxRepeat = 1 << 24

    /// An int index from an int or bool (Python accepts bools as indices).
    static func index(_ v: Value) -> Int? {
        switch v {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    private static func intValue(_ v: Value) -> Int? {
        switch v {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    private static func unsupported(_ op: String, _ a: Value, _ b: Value) -> ChatTemplateError {
        .type("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'", line: 0)
    }

    static func binary(_ op: String, _ a: Value, _ b: Value) throws -> Value {
        if case let .undefined(hint) = a { throw ChatTemplateError.undefined(hint, line: 0) }
        if case let .undefined(hint) = b { throw ChatTemplateError.undefined(hint, line: 0) }
        switch (op, a, b) {
        case let ("+", .string(x), .string(y)): return .string(x + y)
        case let ("+", .array(x), .array(y)): return .array(x + y)
        case let ("+", .tuple(x), .tuple(y)): return .tuple(x + y)
        case ("+", .string, _):
            throw ChatTemplateError.type("can only concatenate str (not \"\(b.typeName)\") to str", line: 0)
        case ("+", .array, _):
            throw ChatTemplateError.type("can only concatenate list (not \"\(b.typeName)\") to list", line: 0)
        case let ("*", .string(s), n), let ("*", n, .string(s)):
            guard let k = intValue(n) else { throw unsupported(op, a, b) }
            guard k <= maxRepeat / max(1, s.utf8.count) else { throw ChatTemplateError.type("repeated string too large", line: 0) }
            return .string(String(repeating: s, count: max(0, k)))
        case let ("*", .array(x), n), let ("*", n, .array(x)):
            guard let k = intValue(n) else { throw unsupported(op, a, b) }
            guard k <= maxRepeat / max(1, x.count) else { throw ChatTemplateError.type("repeated list too large", line: 0) }
            return .array(Array((0..<max(0, k)).map { _ in x }.joined()))
        case let ("%", .string(format), args):
            return .string(try percentFormat(format, args))
        default: break
        }
        if let x = intValue(a), let y = intValue(b) { return try integer(op, x, y) }
        guard let x = a.numeric, let y = b.numeric else { throw unsupported(op, a, b) }
        switch op {
        case "+": return .double(x + y)
        case "-": return .double(x - y)
        case "*": return .double(x * y)
        case "/", "//", "%":
            guard y != 0 else { throw ChatTemplateError.type("float division by zero", line: 0) }
            if op == "/" { return .double(x / y) }
            if op == "//" { return .double((x / y).rounded(.down)) }
            let r = fmod(x, y)
            return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
        case "**":
            if x == 0 && y < 0 { throw ChatTemplateError.type("0.0 cannot be raised to a negative power", line: 0) }
            return .double(pow(x, y))
        default: throw unsupported(op, a, b)
        }
    }

    private static func integer(_ op: String, _ x: Int, _ y: Int) throws -> Value {
        func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> Value {
            if r.overflow { throw ChatTemplateError.type("integer overflow in \(op)", line: 0) }
            return .int(r.partialValue)
        }
        switch op {
        case "+": return try checked(x.addingReportingOverflow(y))
        case "-": return try checked(x.subtractingReportingOverflow(y))
        case "*": return try checked(x.multipliedReportingOverflow(by: y))
        case "/":
            guard y != 0 else { throw ChatTemplateError.type("division by zero", line: 0) }
            return .double(Double(x) / Double(y))
        case "//", "%":
            guard y != 0 else { throw ChatTemplateError.type("integer division or modulo by zero", line: 0) }
            var q = x / y
            var r = x % y
            if r != 0 && (r < 0) != (y < 0) { q -= 1; r += y }
            return .int(op == "//" ? q : r)
        case "**":
            if y < 0 {
                if x == 0 { throw ChatTemplateError.type("0.0 cannot be raised to a negative power", line: 0) }
                return .double(pow(Double(x), Double(y)))
            }
            // Exponentiation by squaring; results beyond Int are an error (Python would use bigints).
            var result = 1, base = x, e = y
            while e > 0 {
                if e & 1 == 1 { result = try checked(result.multipliedReportingOverflow(by: base)).intOrZero }
                e >>= 1
                if e > 0 { base = try checked(base.multipliedReportingOverflow(by: base)).intOrZero }
            }
            return .int(result)
        default: throw ChatTemplateError.type("unsupported operator \(op)", line: 0)
        }
    }

    static func compare(_ op: String, _ a: Value, _ b: Value) throws -> Bool {
        switch op {
        case "==": return a.pyEquals(b)
        case "!=": return !a.pyEquals(b)
        case "in": return try contains(b, a)
        case "notin": return !(try contains(b, a))
        default: break
        }
        if case let .undefined(hint) = a { throw ChatTemplateError.undefined(hint, line: 0) }
        if case let .undefined(hint) = b { throw ChatTemplateError.undefined(hint, line: 0) }
        switch op {
        case "<": return try a.pyLess(b)
        case ">": return try b.pyLess(a)
        case "<=": return try !b.pyLess(a)
        case ">=": return try !a.pyLess(b)
        default: throw ChatTemplateError.type("unsupported comparison \(op)", line: 0)
        }
    }

    /// Python `item in container`.
    static func contains(_ container: Value, _ item: Value) throws -> Bool {
        switch container {
        case let .string(s):
            guard case let .string(needle) = item else {
                throw ChatTemplateError.type(
                    "'in <string>' requires string as left operand, not \(item.typeName)", line: 0)
            }
            return s.pyContains(needle)
        case let .array(a), let .tuple(a): return a.contains { $0.pyEquals(item) }
        case let .iterator(it): return it.items.contains { $0.pyEquals(item) }
        case let .dict(d): return d[item] != nil
        case .undefined: return false
        default:
            throw ChatTemplateError.type("argument of type '\(container.typeName)' is not iterable", line: 0)
        }
    }

    /// printf-style `format % args` for %s, %r, %d, %i, %f and %%.
    static func percentFormat(_ format: String, _ args: Value) throws -> String {
        var items: [Value]
        if case let .tuple(a) = args { items = a } else { items = [args] }
        var out = ""
        var chars = format.unicodeScalars.makeIterator()
        while let c = chars.next() {
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            guard let spec = chars.next() else { throw ChatTemplateError.type("incomplete format", line: 0) }
            if spec == "%" { out += "%"; continue }
            guard !items.isEmpty else { throw ChatTemplateError.type("not enough arguments for format string", line: 0) }
            let v = items.removeFirst()
            switch spec {
            case "s": out += v.pyStr
            case "r": out += v.pyRepr
            case "d", "i":
                guard let n = v.numeric else { throw ChatTemplateError.type("%d format: a real number is required", line: 0) }
                guard let i = Int(exactly: n.rounded(.towardZero)) else { throw ChatTemplateError.type("%d: number too large", line: 0) }
                out += String(i)
            case "f": 
                guard let n = v.numeric else { throw ChatTemplateError.type("%f format: a real number is required", line: 0) }
                out += String(format: "%f", n)
            default: throw ChatTemplateError.unsupported("format specifier %\(spec)", line: 0)
            }
        }
        if !items.isEmpty { throw ChatTemplateError.type("not all arguments converted during string formatting", line: 0) }
        return out
    }
}

private extension Value {
    var intOrZero: Int { if case let .int(i) = self { return i }; return 0 }
}
