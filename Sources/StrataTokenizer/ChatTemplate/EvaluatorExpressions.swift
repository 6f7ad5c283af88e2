// Expression evaluation: names, attribute/item/slice access as Jinja's sandbox does it, calls,
// Python operators (`and`/`or` return an operand; `/` is true division; `%` floors).

extension Evaluator {
    func eval(_ e: Expr, _ scope: Scope) throws -> Value {
        switch e {
        case let .literal(v): return v
        case let .name(n): return scope.lookup(n) ?? .undefined("'\(n)' is undefined")
        case let .list(items): return .array(try items.map { try eval($0, scope) })
        case let .tuple(items): return .tuple(try items.map { try eval($0, scope) })
        case let .dict(pairs):
            var d = ValueDict()
            for (k, v) in pairs { d[try eval(k, scope)] = try eval(v, scope) }
            return .dict(d)
        case let .attribute(obj, name): return try getAttribute(try eval(obj, scope), name)
        case let .item(obj, key): return try getItem(try eval(obj, scope), try eval(key, scope))
        case let .slice(obj, start, stop, step):
            let base = try eval(obj, scope)
            do {
                return try slice(base, try start.map { try eval($0, scope) },
                                 try stop.map { try eval($0, scope) }, try step.map { try eval($0, scope) })
            } catch ChatTemplateError.type(let message, _) {
                // jinja2 folds a slice of a literal at compile time through the sandbox's getitem,
                // which turns the TypeError into Undefined; slicing a variable raises.
                if case .literal = obj { return .undefined(message) }
                throw ChatTemplateError.type(message, line: 0)
            }
        case let .call(callee, args):
            let f = try eval(callee, scope)
            let (positional, keywords) = try evalArgs(args, scope)
            switch f {
            case let .function(fn): return try fn.call(positional, keywords)
            case let .undefined(hint): throw ChatTemplateError.undefined(hint, line: 0)
            default: throw ChatTemplateError.type("'\(f.typeName)' object is not callable", line: 0)
            }
        case let .filter(base, name, args): return try applyFilter(name, try eval(base, scope), args, scope)
        case let .test(base, name, args):
            let (positional, keywords) = try evalArgs(args, scope)
            return .bool(try Builtins.test(name, try eval(base, scope), Arguments(name, positional, keywords), self))
        case let .unary(op, x):
            let v = try eval(x, scope)
            if case let .undefined(hint) = v { throw ChatTemplateError.undefined(hint, line: 0) }
            switch (op, v) {
            case let ("-", .int(i)):
                guard i != .min else { throw ChatTemplateError.type("integer overflow in unary -", line: 0) }
                return .int(-i)
            case let ("-", .double(d)): return .double(-d)
            case let ("-", .bool(b)): return .int(b ? -1 : 0)
            case ("+", .int), ("+", .double): return v
            case let ("+", .bool(b)): return .int(b ? 1 : 0)
            default: throw ChatTemplateError.type("bad operand type for unary \(op): '\(v.typeName)'", line: 0)
            }
        case let .binary(op, a, b): return try Operators.binary(op, try eval(a, scope), try eval(b, scope))
        case let .and(a, b):
            let l = try eval(a, scope)
            return l.isTruthy ? try eval(b, scope) : l
        case let .or(a, b):
            let l = try eval(a, scope)
            return l.isTruthy ? l : try eval(b, scope)
        case let .not(x): return .bool(!(try eval(x, scope).isTruthy))
        case let .compare(first, ops):
            var left = try eval(first, scope)
            for (op, rhs) in ops {
                let right = try eval(rhs, scope)
                if !(try Operators.compare(op, left, right)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case let .concat(parts): return .string(try parts.map { try eval($0, scope).pyStr }.joined())
        case let .conditional(cond, then, other):
            if try eval(cond, scope).isTruthy { return try eval(then, scope) }
            return try other.map { try eval($0, scope) } ?? .undefined("conditional expression had no else branch")
        }
    }

    func evalArgs(_ args: CallArgs, _ scope: Scope) throws -> ([Value], [(String, Value)]) {
        var positional = try args.positional.map { try eval($0, scope) }
        var keywords = try args.keywords.map { ($0.0, try eval($0.1, scope)) }
        if let star = args.star { positional += try iterate(try eval(star, scope)) }
        if let dstar = args.doubleStar {
            guard case let .dict(d) = try eval(dstar, scope) else {
                throw ChatTemplateError.type("argument after ** must be a mapping", line: 0)
            }
            for (k, v) in d { keywords.append((k.pyStr, v)) }
        }
        return (positional, keywords)
    }

    func applyFilter(_ name: String, _ v: Value, _ args: CallArgs, _ scope: Scope) throws -> Value {
        let (positional, keywords) = try evalArgs(args, scope)
        return try Builtins.filter(name, v, Arguments(name, positional, keywords), self)
    }

    /// `obj.name`: a Python attribute (method) first, then the item, else Undefined.
    func getAttribute(_ obj: Value, _ name: String) throws -> Value {
        switch obj {
        case let .undefined(hint): throw ChatTemplateError.undefined(hint, line: 0)
        case let .dict(d):
            if let m = Methods.bound(obj, name) { return m }
            return d[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case let .namespace(ns):
            return ns.attributes[name] ?? .undefined("'Namespace object' has no attribute '\(name)'")
        default:
            return Methods.bound(obj, name) ?? .undefined("'\(obj.typeName) object' has no attribute '\(name)'")
        }
    }

    /// `obj[key]`: the item first, then a Python attribute, else Undefined.
    func getItem(_ obj: Value, _ key: Value) throws -> Value {
        switch obj {
        case let .undefined(hint): throw ChatTemplateError.undefined(hint, line: 0)
        case let .dict(d):
            if let v = d[key] { return v }
        case let .array(a), let .tuple(a):
            if let i = Operators.index(key) {
                let j = i < 0 ? i + a.count : i
                if j >= 0 && j < a.count { return a[j] }
            }
        case let .string(s):
            if let i = Operators.index(key) {
                let sc = s.scalars
                let j = i < 0 ? i + sc.count : i
                if j >= 0 && j < sc.count { return .string(String(sc[j])) }
            }
        default: break
        }
        if case let .string(name) = key { return try getAttribute(obj, name) }
        return .undefined("'\(obj.typeName) object' has no element \(key.pyRepr)")
    }

    /// Python slicing of lists and strings.
    func slice(_ obj: Value, _ start: Value?, _ stop: Value?, _ step: Value?) throws -> Value {
        if case let .undefined(hint) = obj { throw ChatTemplateError.undefined(hint, line: 0) }
        func bound(_ v: Value?) throws -> Int? {
            guard let v, !v.isNone else { return nil }
            guard let i = Operators.index(v) else {
                throw ChatTemplateError.type("slice indices must be integers or None", line: 0)
            }
            return i
        }
        let st = try bound(step) ?? 1
        guard st != 0 else { throw ChatTemplateError.type("slice step cannot be zero", line: 0) }
        func pick<T>(_ items: [T]) throws -> [T] {
            let n = items.count
            func clamp(_ i: Int?, _ def: Int) -> Int {
                guard var i else { return def }
                if i < 0 { i += n }
                return st > 0 ? min(max(i, 0), n) : min(max(i, -1), n - 1)
            }
            let a = clamp(try bound(start), st > 0 ? 0 : n - 1)
            let b = clamp(try bound(stop), st > 0 ? n : -1)
            var out: [T] = []
            var i = a
            while st > 0 ? i < b : i > b { out.append(items[i]); i += st }
            return out
        }
        switch obj {
        case let .array(a): return .array(try pick(a))
        case let .tuple(a): return .tuple(try pick(a))
        case let .string(s): return .string(String(scalars: try pick(s.scalars)))
        case .dict: throw ChatTemplateError.type("unhashable type: 'slice'", line: 0)
        default: throw ChatTemplateError.type("'\(obj.typeName)' object is not subscriptable", line: 0)
        }
    }
}
