// The parsed form of a template: statements (`Node`) and expressions (`Expr`), each with its
// template line for error messages. Mirrors jinja2.nodes for the constructs implemented.

indirect enum Expr {
    case literal(Value)
    case name(String)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
    /// `obj.name` (attribute first, then item, as Jinja's getattr).
    case attribute(Expr, String)
    /// `obj[key]` (item first, then attribute).
    case item(Expr, Expr)
    case slice(Expr, start: Expr?, stop: Expr?, step: Expr?)
    case call(Expr, CallArgs)
    case filter(Expr, name: String, CallArgs)
    case test(Expr, name: String, CallArgs)
    case unary(String, Expr)
    case binary(String, Expr, Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case not(Expr)
    /// Chained comparison `a < b <= c`; operators: == != < <= > >= in notin.
    case compare(Expr, [(String, Expr)])
    case concat([Expr])
    /// `a if cond else b`; a missing else yields Undefined.
    case conditional(cond: Expr, then: Expr, else: Expr?)
}

struct CallArgs {
    var positional: [Expr] = []
    var keywords: [(String, Expr)] = []
    var star: Expr?
    var doubleStar: Expr?
}

/// An assignment target: a name, a tuple of targets, or a namespace attribute (`ns.x`).
indirect enum Target {
    case name(String)
    case tuple([Target])
    case namespaceAttribute(String, String)
}

struct Macro {
    let name: String
    let parameters: [(String, Expr?)]
    let body: [Node]
}

indirect enum Node {
    case text(String)
    case output(Expr, line: Int)
    case ifElse(branches: [(Expr, [Node])], otherwise: [Node], line: Int)
    case forLoop(target: Target, iterable: Expr, filter: Expr?, body: [Node], otherwise: [Node],
                 recursive: Bool, line: Int)
    case set(Target, Expr, line: Int)
    case setBlock(Target, filters: [(String, CallArgs)], body: [Node], line: Int)
    case macro(Macro, line: Int)
    /// `{% call(params) macro(args) %}body{% endcall %}`: `caller` is a macro over body.
    case callBlock(Macro, call: Expr, line: Int)
    case filterBlock(filters: [(String, CallArgs)], body: [Node], line: Int)
    case with(assignments: [(Target, Expr)], body: [Node], line: Int)
    case breakLoop(line: Int)
    case continueLoop(line: Int)
}
