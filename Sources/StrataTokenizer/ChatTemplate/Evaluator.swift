// Tree-walking evaluator for statements. Scoping follows Jinja: every `for` iteration, macro call
// and `with` block reads through to its enclosing scope but assigns into a fresh one, so a
// `{% set %}` inside a loop body is not visible after the loop (use `namespace()` for that).

/// A variable frame; frames are shared by reference so macros see later top-level assignments.
final class Scope {
    var variables: [String: Value]
    let parent: Scope?

    init(_ variables: [String: Value] = [:], parent: Scope?) {
        self.variables = variables
        self.parent = parent
    }

    func lookup(_ name: String) -> Value? {
        var s: Scope? = self
        while let frame = s {
            if let v = frame.variables[name] { return v }
            s = frame.parent
        }
        return nil
    }
}

enum Flow { case normal, breakLoop, continueLoop }

/// Mutable state of one render.
final class RenderState {
    var macroDepth = 0
}

struct Evaluator {
    /// Macro calls may nest this deep (recursive macros render nested JSON schemas, say); deeper is
    /// an error, as Python's recursion limit is for jinja2.
    static let maxMacroDepth = 32
    let state = RenderState()

    /// Renders `nodes` in `scope`, appending to `out`. Errors carry the line of their statement.
    func render(_ nodes: [Node], _ scope: Scope, into out: inout String) throws -> Flow {
        for node in nodes {
            let flow: Flow
            do {
                flow = try execute(node, scope, &out)
            } catch let e as ChatTemplateError {
                throw e.at(line: node.line)
            }
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ node: Node, _ scope: Scope, _ out: inout String) throws -> Flow {
        switch node {
        case let .text(s):
            out += s
        case let .output(e, _):
            out += try eval(e, scope).pyStr
        case let .ifElse(branches, otherwise, _):
            for (test, body) in branches where try eval(test, scope).isTruthy {
                return try render(body, scope, into: &out)
            }
            return try render(otherwise, scope, into: &out)
        case let .forLoop(target, iterable, filter, body, otherwise, recursive, line):
            if recursive { throw ChatTemplateError.unsupported("recursive for loop", line: line) }
            try runLoop(target, try eval(iterable, scope), filter, body, otherwise, scope, &out)
        case let .set(target, e, _):
            try assign(target, try eval(e, scope), scope)
        case let .setBlock(target, filters, body, _):
            var captured = ""
            _ = try render(body, scope, into: &captured)
            try assign(target, try applyFilters(filters, to: .string(captured), scope), scope)
        case let .macro(m, _):
            scope.variables[m.name] = .function(makeMacro(m, definedIn: scope))
        case let .callBlock(m, call, _):
            guard case let .call(callee, args) = call else { break }
            let caller = makeMacro(m, definedIn: scope)
            var withCaller = args
            withCaller.keywords.append(("caller", .literal(.function(caller))))
            out += try eval(.call(callee, withCaller), scope).pyStr
        case let .filterBlock(filters, body, _):
            var captured = ""
            _ = try render(body, scope, into: &captured)
            out += try applyFilters(filters, to: .string(captured), scope).pyStr
        case let .with(assignments, body, _):
            let inner = Scope(parent: scope)
            for (t, e) in assignments { try assign(t, try eval(e, scope), inner) }
            return try render(body, inner, into: &out)
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        }
        return .normal
    }

    private func runLoop(_ target: Target, _ iterable: Value, _ filter: Expr?, _ body: [Node],
                         _ otherwise: [Node], _ scope: Scope, _ out: inout String) throws {
        var items = try iterate(iterable)
        if let filter {
            items = try items.filter { item in
                let probe = Scope(parent: scope)
                try assign(target, item, probe)
                return try eval(filter, probe).isTruthy
            }
        }
        // jinja2 runs `else` unless some iteration reached the end of the body: an empty loop, or
        // one whose every iteration ended in break/continue.
        var completed = false
        for (i, item) in items.enumerated() {
            let frame = Scope(parent: scope)
            try assign(target, item, frame)
            frame.variables["loop"] = loopObject(index: i, items: items)
            let flow = try render(body, frame, into: &out)
            if flow == .breakLoop { break }
            if flow == .normal { completed = true }
        }
        if !completed { _ = try render(otherwise, Scope(parent: scope), into: &out) }
    }

    /// The `loop` variable of one iteration.
    private func loopObject(index i: Int, items: [Value]) -> Value {
        let n = items.count
        var d = ValueDict([
            ("index", .int(i + 1)), ("index0", .int(i)), ("revindex", .int(n - i)), ("revindex0", .int(n - i - 1)),
            ("first", .bool(i == 0)), ("last", .bool(i == n - 1)), ("length", .int(n)),
            ("depth", .int(1)), ("depth0", .int(0)),
        ])
        if i > 0 { d["previtem"] = items[i - 1] }
        if i + 1 < n { d["nextitem"] = items[i + 1] }
        d["cycle"] = .function(Function("loop.cycle") { args, _ in
            guard !args.isEmpty else { throw ChatTemplateError.type("no items for cycling given", line: 0) }
            return args[i % args.count]
        })
        return .dict(d)
    }

    /// Python iteration: list items, dict keys, string code points; Undefined iterates as empty.
    func iterate(_ v: Value) throws -> [Value] {
        switch v {
        case let .array(a), let .tuple(a): return a
        case let .iterator(it):
            if let failure = it.failure { throw failure }
            return it.items
        case let .dict(d): return d.keys
        case let .string(s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw ChatTemplateError.type("'\(v.typeName)' object is not iterable", line: 0)
        }
    }

    func assign(_ target: Target, _ value: Value, _ scope: Scope) throws {
        switch target {
        case let .name(n):
            scope.variables[n] = value
        case let .tuple(targets):
            let items = try iterate(value)
            guard items.count == targets.count else {
                throw ChatTemplateError.type(
                    "cannot unpack \(items.count) values into \(targets.count) targets", line: 0)
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope) }
        case let .namespaceAttribute(name, attribute):
            guard case let .namespace(ns)? = scope.lookup(name) else {
                throw ChatTemplateError.type("cannot assign attribute on non-namespace object '\(name)'", line: 0)
            }
            if attribute.hasPrefix("_") {  // transformers' TemplateNamespace refuses these
                throw ChatTemplateError.type("namespace attributes cannot start with '_': \(attribute)", line: 0)
            }
            ns.attributes[attribute] = value
        }
    }

    private func makeMacro(_ m: Macro, definedIn scope: Scope) -> Function {
        Function(m.name) { args, kwargs in
            self.state.macroDepth += 1
            defer { self.state.macroDepth -= 1 }
            guard self.state.macroDepth <= Evaluator.maxMacroDepth else {
                throw ChatTemplateError.type("maximum macro recursion depth exceeded in '\(m.name)'", line: 0)
            }
            let frame = Scope(parent: scope)
            var extra: [Value] = []
            for (i, a) in args.enumerated() {
                if i < m.parameters.count { frame.variables[m.parameters[i].0] = a } else { extra.append(a) }
            }
            var extraKeywords = ValueDict()
            for (k, v) in kwargs {
                if m.parameters.contains(where: { $0.0 == k }) || k == "caller" {
                    frame.variables[k] = v
                } else {
                    extraKeywords[k] = v
                }
            }
            for (name, def) in m.parameters where frame.variables[name] == nil {
                frame.variables[name] = try def.map { try self.eval($0, frame) } ?? .undefined("'\(name)' is undefined")
            }
            frame.variables["varargs"] = .array(extra)
            frame.variables["kwargs"] = .dict(extraKeywords)
            var out = ""
            _ = try self.render(m.body, frame, into: &out)
            return .string(out)
        }
    }

    func applyFilters(_ filters: [(String, CallArgs)], to value: Value, _ scope: Scope) throws -> Value {
        var v = value
        for (name, args) in filters { v = try applyFilter(name, v, args, scope) }
        return v
    }
}

extension Node {
    var line: Int {
        switch self {
        case .text: return 0
        case let .output(_, l), let .ifElse(_, _, l), let .forLoop(_, _, _, _, _, _, l), let .set(_, _, l),
             let .setBlock(_, _, _, l), let .macro(_, l), let .callBlock(_, _, l), let .filterBlock(_, _, l),
             let .with(_, _, l), let .breakLoop(l), let .continueLoop(l):
            return l
        }
    }
}
