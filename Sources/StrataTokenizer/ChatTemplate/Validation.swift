// Load-time checks Jinja does at compile time: every filter and test a template names must exist,
// so an unsupported one fails when the template is loaded, not on the first request reaching it.
// As in jinja2 3.x, names used directly inside an `if` (or an `a if c else b`) are only checked
// when reached at render time ("soft" frames; loops, macros and blocks start a hard frame again).

struct Validation {
    /// Inside an if-statement or conditional expression (and no frame-creating tag since).
    var soft = false

    static func check(_ nodes: [Node]) throws { try Validation().check(nodes) }

    private func check(_ nodes: [Node]) throws {
        for n in nodes {
            do { try check(n) } catch let e as ChatTemplateError { throw e.at(line: n.line) }
        }
    }

    private func check(_ n: Node) throws {
        let hard = Validation(soft: false), soft = Validation(soft: true)
        switch n {
        case .text, .breakLoop, .continueLoop: break
        case let .output(e, _): try check(e)
        case let .ifElse(branches, otherwise, _):
            for (t, b) in branches { try soft.check(t); try soft.check(b) }
            try soft.check(otherwise)
        case let .forLoop(_, it, filter, body, otherwise, _, _):
            try check(it)
            if let filter { try hard.check(filter) }
            try hard.check(body); try hard.check(otherwise)
        case let .set(_, e, _): try check(e)
        case let .setBlock(_, filters, body, _), let .filterBlock(filters, body, _):
            for (name, args) in filters { try checkFilter(name); try check(args) }
            try hard.check(body)
        case let .macro(m, _): try hard.check(m)
        case let .callBlock(m, call, _): try hard.check(m); try check(call)
        case let .with(assignments, body, _):
            for (_, e) in assignments { try check(e) }
            try hard.check(body)
        }
    }

    private func check(_ m: Macro) throws {
        for case let (_, d?) in m.parameters { try check(d) }
        try check(m.body)
    }

    private func checkFilter(_ name: String) throws {
        guard soft || Builtins.filterNames.contains(name) else {
            throw ChatTemplateError.unsupported("filter '\(name)'", line: 0)
        }
    }

    private func check(_ args: CallArgs) throws {
        for e in args.positional { try check(e) }
        for (_, e) in args.keywords { try check(e) }
        if let s = args.star { try check(s) }
        if let s = args.doubleStar { try check(s) }
    }

    private func check(_ e: Expr) throws {
        switch e {
        case .literal, .name: break
        case let .list(items), let .tuple(items), let .concat(items): for x in items { try check(x) }
        case let .dict(pairs): for (k, v) in pairs { try check(k); try check(v) }
        case let .attribute(x, _), let .unary(_, x), let .not(x): try check(x)
        case let .item(a, b), let .binary(_, a, b), let .and(a, b), let .or(a, b): try check(a); try check(b)
        case let .slice(x, a, b, c): try check(x); for y in [a, b, c] { if let y { try check(y) } }
        case let .call(x, args): try check(x); try check(args)
        case let .filter(x, name, args): try checkFilter(name); try check(x); try check(args)
        case let .test(x, name, args):
            guard soft || Builtins.testNames.contains(name) else {
                throw ChatTemplateError.unsupported("test '\(name)'", line: 0)
            }
            try check(x); try check(args)
        case let .compare(x, ops): try check(x); for (_, y) in ops { try check(y) }
        case let .conditional(c, t, o):
            let soft = Validation(soft: true)
            try soft.check(c); try soft.check(t)
            if let o { try soft.check(o) }
        }
    }
}
