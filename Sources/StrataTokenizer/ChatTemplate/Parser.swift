// Jinja2 parser for statements (port of jinja2/parser.py `subparse`/`parse_statement`).
// Expressions are in ParserExpressions.swift.

struct Parser {
    var tokens: [Token]
    var index = 0
    /// Current nesting of statements and sub-expressions; bounded so that a hostile template is a
    /// syntax error, not a stack overflow.
    var depth = 0
    static let maxDepth = 128

    mutating func enter() throws {
        depth += 1
        if depth > Parser.maxDepth {
            throw ChatTemplateError.syntax("template nested more than \(Parser.maxDepth) levels deep", line: line)
        }
    }

    static func parse(_ source: String) throws -> [Node] {
        var parser = Parser(tokens: try Lexer.tokenize(source))
        let (body, end) = try parser.parseBody(until: [])
        if let end { throw ChatTemplateError.syntax("unexpected tag '\(end)'", line: parser.current.line) }
        return body
    }

    var current: Token { tokens[index] }
    var line: Int { current.line }

    mutating func next() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    func peek(_ offset: Int = 1) -> Token { tokens[min(index + offset, tokens.count - 1)] }

    func isName(_ n: String) -> Bool { current.kind == .name(n) }
    func isOp(_ o: String) -> Bool { current.kind == .op(o) }

    mutating func skipName(_ n: String) -> Bool {
        if isName(n) { index += 1; return true }
        return false
    }

    mutating func skipOp(_ o: String) -> Bool {
        if isOp(o) { index += 1; return true }
        return false
    }

    mutating func expectOp(_ o: String) throws {
        guard skipOp(o) else { throw unexpected("'\(o)'") }
    }

    mutating func expectName() throws -> String {
        guard case let .name(n) = current.kind else { throw unexpected("a name") }
        index += 1
        return n
    }

    mutating func expectBlockEnd() throws {
        guard current.kind == .blockEnd else { throw unexpected("end of statement block") }
        index += 1
    }

    func unexpected(_ expected: String) -> ChatTemplateError {
        .syntax("expected \(expected), got \(describe(current.kind))", line: line)
    }

    func describe(_ k: Token.Kind) -> String {
        switch k {
        case let .text(t): return "template data '\(t.prefix(20))'"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "end of statement block"
        case let .name(n): return "'\(n)'"
        case let .string(s): return "string \(Python.stringRepr(s))"
        case let .integer(i): return "integer \(i)"
        case let .float(d): return "float \(d)"
        case let .op(o): return "'\(o)'"
        case .eof: return "end of template"
        }
    }

    /// Parses nodes until a block tag whose name is in `endTags`; returns that name (the stream is
    /// then positioned on it) or nil at end of template.
    mutating func parseBody(until endTags: Set<String>) throws -> ([Node], String?) {
        var body: [Node] = []
        while true {
            let t = current
            switch t.kind {
            case let .text(s):
                index += 1
                body.append(.text(s))
            case .variableBegin:
                index += 1
                let e = try parseTuple()
                guard current.kind == .variableEnd else { throw unexpected("end of print statement") }
                index += 1
                body.append(.output(e, line: t.line))
            case .blockBegin:
                index += 1
                if case let .name(n) = current.kind, endTags.contains(n) { return (body, n) }
                body.append(contentsOf: try parseStatement())
                try expectBlockEnd()
            case .eof:
                if !endTags.isEmpty {
                    let wanted = endTags.sorted().map { "'\($0)'" }.joined(separator: " or ")
                    throw ChatTemplateError.syntax("unexpected end of template, expected \(wanted)", line: t.line)
                }
                return (body, nil)
            default:
                throw ChatTemplateError.syntax("unexpected \(describe(t.kind))", line: t.line)
            }
        }
    }

    /// Body of a block statement: `%}` then nodes up to one of `endTags`, whose name is consumed.
    mutating func parseStatements(until endTags: Set<String>) throws -> ([Node], String) {
        _ = skipOp(":")
        try expectBlockEnd()
        let (body, end) = try parseBody(until: endTags)
        index += 1  // the end tag's name
        return (body, end!)
    }

    mutating func parseStatement() throws -> [Node] {
        try enter()
        defer { depth -= 1 }
        let l = line
        guard case let .name(tag) = current.kind else {
            throw ChatTemplateError.syntax("tag name expected", line: l)
        }
        index += 1
        switch tag {
        case "if": return [try parseIf(line: l)]
        case "for": return [try parseFor(line: l)]
        case "set": return [try parseSet(line: l)]
        case "macro": return [try parseMacro(line: l)]
        case "call": return [try parseCallBlock(line: l)]
        case "filter":
            let filters = try parseFilterChain(inline: true)
            let (body, _) = try parseStatements(until: ["endfilter"])
            return [.filterBlock(filters: filters, body: body, line: l)]
        case "with": return [try parseWith(line: l)]
        case "break": return [.breakLoop(line: l)]
        case "continue": return [.continueLoop(line: l)]
        case "generation":
            // transformers' AssistantTracker: renders its body unchanged.
            return try parseStatements(until: ["endgeneration"]).0
        case "block":
            // No template inheritance here, so a block renders in place.
            _ = try expectName()
            _ = skipName("scoped"); _ = skipName("required")
            let (body, _) = try parseStatements(until: ["endblock"])
            if case .name = current.kind { index += 1 }
            return body
        case "print":
            return [.output(try parseTuple(), line: l)]
        case "extends", "include", "import", "from", "autoescape":
            throw ChatTemplateError.unsupported("'\(tag)' tag", line: l)
        default:
            throw ChatTemplateError.syntax("Encountered unknown tag '\(tag)'", line: l)
        }
    }

    mutating func parseIf(line l: Int) throws -> Node {
        var branches: [(Expr, [Node])] = []
        var otherwise: [Node] = []
        while true {
            let test = try parseTuple(withCondExpr: false)
            let (body, end) = try parseStatements(until: ["elif", "else", "endif"])
            branches.append((test, body))
            if end == "elif" { continue }
            if end == "else" { otherwise = try parseStatements(until: ["endif"]).0 }
            break
        }
        return .ifElse(branches: branches, otherwise: otherwise, line: l)
    }

    mutating func parseFor(line l: Int) throws -> Node {
        let target = try parseAssignTarget(endNames: ["in"])
        guard skipName("in") else { throw unexpected("'in'") }
        let iterable = try parseTuple(withCondExpr: false, endNames: ["recursive"])
        let filter = skipName("if") ? try parseExpression() : nil
        let recursive = skipName("recursive")
        let (body, end) = try parseStatements(until: ["endfor", "else"])
        let otherwise = end == "else" ? try parseStatements(until: ["endfor"]).0 : []
        return .forLoop(target: target, iterable: iterable, filter: filter, body: body,
                        otherwise: otherwise, recursive: recursive, line: l)
    }

    mutating func parseSet(line l: Int) throws -> Node {
        let target = try parseAssignTarget(withNamespace: true)
        if skipOp("=") { return .set(target, try parseTuple(), line: l) }
        let filters = try parseFilterChain(inline: false)
        let (body, _) = try parseStatements(until: ["endset"])
        return .setBlock(target, filters: filters, body: body, line: l)
    }

    mutating func parseWith(line l: Int) throws -> Node {
        var assignments: [(Target, Expr)] = []
        while current.kind != .blockEnd {
            if !assignments.isEmpty { try expectOp(",") }
            let t = try parseAssignTarget()
            try expectOp("=")
            assignments.append((t, try parseExpression()))
        }
        let (body, _) = try parseStatements(until: ["endwith"])
        return .with(assignments: assignments, body: body, line: l)
    }

    mutating func parseSignature() throws -> [(String, Expr?)] {
        var params: [(String, Expr?)] = []
        try expectOp("(")
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            let name = try expectName()
            if skipOp("=") {
                params.append((name, try parseExpression()))
            } else if params.contains(where: { $0.1 != nil }) {
                throw ChatTemplateError.syntax("non-default argument follows default argument", line: line)
            } else {
                params.append((name, nil))
            }
        }
        try expectOp(")")
        return params
    }

    mutating func parseMacro(line l: Int) throws -> Node {
        let name = try expectName()
        let params = try parseSignature()
        let (body, _) = try parseStatements(until: ["endmacro"])
        if case .name = current.kind { index += 1 }
        return .macro(Macro(name: name, parameters: params, body: body), line: l)
    }

    mutating func parseCallBlock(line l: Int) throws -> Node {
        let params = isOp("(") ? try parseSignature() : []
        let call = try parseExpression()
        guard case .call = call else {
            throw ChatTemplateError.syntax("expected call", line: l)
        }
        let (body, _) = try parseStatements(until: ["endcall"])
        return .callBlock(Macro(name: "caller", parameters: params, body: body), call: call, line: l)
    }

    /// Assignment target: names, tuples of names, or (for `set`) `ns.attr`.
    mutating func parseAssignTarget(withNamespace: Bool = false, endNames: Set<String> = []) throws -> Target {
        var items: [Target] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if current.kind == .blockEnd || current.kind == .variableEnd || isOp(")") { break }
            if case let .name(n) = current.kind, endNames.contains(n) { break }
            let name = try expectName()
            if withNamespace && skipOp(".") {
                items.append(.namespaceAttribute(name, try expectName()))
            } else {
                if ["true", "false", "none", "True", "False", "None"].contains(name) {
                    throw ChatTemplateError.syntax("can't assign to '\(name)'", line: line)
                }
                items.append(.name(name))
            }
            if isOp(",") { isTuple = true } else { break }
        }
        guard !items.isEmpty else { throw unexpected("an assignment target") }
        return isTuple ? .tuple(items) : items[0]
    }
}
