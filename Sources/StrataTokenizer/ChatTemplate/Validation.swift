// Load-time checks Jinja does at compile time: every filter and test a template names must exist,
// so an unsupported one fails when the template is loaded, not on the first request reaching it.

enum Validation {
    static func check(_ nodes: [Node]) throws {
        for n in nodes {
            do { try check(n) } catch let e as ChatTemplateError { throw e.at(line: n.line) }
        }
    }

    private static func check(_ n: Node) throws {
        switch n {
        case .text, .breakLoop, .continueLoop: break
        case let .output(e, _): try check(e)
        case let .ifElse(branches, otherwise, _):
            for (t, b) in branches { try check(t); try check(b) }
            try check(otherwise)
        case let .forLoop(_, it, filter, body, otherwise, _, _):
            try check(it)
            if let filter { try check(filter) }
            try check(body); try check(otherwise)
        case let .set(_, e, _): try check(e)
        case let .setBlock(_, filters, body, _), let .filterBlock(filters, body, _):
            for (name, args) in filters { try checkFilter(name); try check(args) }
            try check(body)
        case let .macro(m, _): try check(m)
        case let .callBlock(m, call, _): try check(m); try check(call)
        case let .with(assignments, body, _):
            for (_, e) in assignments { try check(e) }
            try check(body)
        }
    }

    private static func check(_ m: Macro) throws {
        for case let (_, d?) in m.parameters { try check(d) }
        try check(m.body)
    }

    private static func checkFilter(_ name: String) throws {
        guard Builtins.filterNames.contains(name) else { throw ChatTemplateError.unsupported("filter '\(name)'", line: 0) }
    }

    private static func check(_ args: CallArgs) throws {
        for e in args.positional { try check(e) }
        for (_, e) in args.keywords { try check(e) }
        if let s = args.star { try check(s) }
        if let s = args.doubleStar { try check(s) }
    }

    private static func check(_ e: Expr) throws {
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
            guard Builtins.testNames.contains(name) else { throw ChatTemplateError.unsupported("test '\(name)'", line: 0) }
            try check(x); try check(args)
        case let .compare(x, ops): try check(x); for (_, y) in ops { try check(y) }
        case let .conditional(c, t, o): try check(c); try check(t); if let o { try check(o) }
        }
    }
}
