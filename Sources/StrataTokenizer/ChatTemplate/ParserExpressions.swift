// Jinja2 expression grammar (port of jinja2/parser.py parse_tuple … parse_test), loosest first:
// condexpr, or, and, not, compare, + -, ~, * / // %, **, unary, primary + postfix + filters/tests.

extension Parser {
    private func isTupleEnd(_ endNames: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .op(")"): return true
        case let .name(n): return endNames.contains(n)
        default: return false
        }
    }

    /// Comma-separated expressions; a single one without a comma is returned as itself.
    mutating func parseTuple(withCondExpr: Bool = true, endNames: Set<String> = [],
                             explicitParentheses: Bool = false) throws -> Expr {
        var items: [Expr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(endNames) { break }
            items.append(withCondExpr ? try parseExpression() : try parseOr())
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let e = items.first { return e }
            if !explicitParentheses { throw unexpected("an expression") }
        }
        return .tuple(items)
    }

    mutating func parseExpression() throws -> Expr {
        var e = try parseOr()
        while skipName("if") {
            let cond = try parseOr()
            let other = skipName("else") ? try parseExpression() : nil
            e = .conditional(cond: cond, then: e, else: other)
        }
        return e
    }

    mutating func parseOr() throws -> Expr {
        var e = try parseAnd()
        while skipName("or") { e = .or(e, try parseAnd()) }
        return e
    }

    mutating func parseAnd() throws -> Expr {
        var e = try parseNot()
        while skipName("and") { e = .and(e, try parseNot()) }
        return e
    }

    mutating func parseNot() throws -> Expr {
        try enter()
        defer { depth -= 1 }
        if skipName("not") { return .not(try parseNot()) }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> Expr {
        let first = try parseMath1()
        var ops: [(String, Expr)] = []
        while true {
            if case let .op(o) = current.kind, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                index += 1
                ops.append((o, try parseMath1()))
            } else if skipName("in") {
                ops.append(("in", try parseMath1()))
            } else if isName("not"), peek().kind == .name("in") {
                index += 2
                ops.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? first : .compare(first, ops)
    }

    mutating func parseMath1() throws -> Expr {
        var e = try parseConcat()
        while case let .op(o) = current.kind, o == "+" || o == "-" {
            index += 1
            e = .binary(o, e, try parseConcat())
        }
        return e
    }

    mutating func parseConcat() throws -> Expr {
        var parts = [try parseMath2()]
        while skipOp("~") { parts.append(try parseMath2()) }
        return parts.count == 1 ? parts[0] : .concat(parts)
    }

    mutating func parseMath2() throws -> Expr {
        var e = try parsePow()
        while case let .op(o) = current.kind, ["*", "/", "//", "%"].contains(o) {
            index += 1
            e = .binary(o, e, try parsePow())
        }
        return e
    }

    mutating func parsePow() throws -> Expr {
        var e = try parseUnary()
        while skipOp("**") { e = .binary("**", e, try parseUnary()) }
        return e
    }

    mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        try enter()
        defer { depth -= 1 }
        var e: Expr
        if skipOp("-") {
            e = .unary("-", try parseUnary(withFilter: false))
        } else if skipOp("+") {
            e = .unary("+", try parseUnary(withFilter: false))
        } else {
            e = try parsePrimary()
        }
        e = try parsePostfix(e)
        return withFilter ? try parseFilterExpr(e) : e
    }

    mutating func parsePrimary() throws -> Expr {
        let t = current
        switch t.kind {
        case let .name(n):
            index += 1
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case let .string(s):
            index += 1
            var text = s
            while case let .string(more) = current.kind { text += more; index += 1 }
            return .literal(.string(text))
        case let .integer(i): index += 1; return .literal(.int(i))
        case let .float(d): index += 1; return .literal(.double(d))
        case .op("("):
            index += 1
            let e = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return e
        case .op("["):
            index += 1
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            index += 1
            var pairs: [(Expr, Expr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let k = try parseExpression()
                try expectOp(":")
                pairs.append((k, try parseExpression()))
            }
            try expectOp("}")
            return .dict(pairs)
        default:
            throw ChatTemplateError.syntax("unexpected \(describe(t.kind))", line: t.line)
        }
    }

    mutating func parsePostfix(_ base: Expr) throws -> Expr {
        var e = base
        while true {
            if skipOp(".") {
                switch current.kind {
                case let .name(n): index += 1; e = .attribute(e, n)
                case let .integer(i): index += 1; e = .item(e, .literal(.int(i)))
                default: throw unexpected("name or number")
                }
            } else if skipOp("[") {
                e = try parseSubscript(e)
            } else if isOp("(") {
                e = .call(e, try parseCallArgs())
            } else {
                return e
            }
        }
    }

    mutating func parseFilterExpr(_ base: Expr) throws -> Expr {
        var e = base
        while true {
            if isOp("|") {
                for (name, args) in try parseFilterChain(inline: false) { e = .filter(e, name: name, args) }
            } else if isName("is") {
                e = try parseTest(e)
            } else if isOp("(") {
                e = .call(e, try parseCallArgs())
            } else {
                return e
            }
        }
    }

    /// `[a]`, `[a:b:c]` (after the `[`); tuples of subscripts are not supported.
    mutating func parseSubscript(_ base: Expr) throws -> Expr {
        var parts: [Expr?] = []
        var sawColon = false
        var currentPart: Expr?
        while !isOp("]") {
            if skipOp(":") {
                parts.append(currentPart); currentPart = nil; sawColon = true
            } else if currentPart == nil {
                currentPart = try parseExpression()
            } else {
                throw ChatTemplateError.unsupported("tuple subscript", line: line)
            }
        }
        try expectOp("]")
        parts.append(currentPart)
        if !sawColon {
            guard let key = parts[0] else { throw unexpected("subscript expression") }
            return .item(base, key)
        }
        guard parts.count <= 3 else { throw ChatTemplateError.syntax("invalid slice", line: line) }
        while parts.count < 3 { parts.append(nil) }
        return .slice(base, start: parts[0], stop: parts[1], step: parts[2])
    }

    mutating func parseCallArgs() throws -> CallArgs {
        try expectOp("(")
        var args = CallArgs()
        var needComma = false
        while !isOp(")") {
            if needComma {
                try expectOp(",")
                if isOp(")") { break }
            }
            if skipOp("*") {
                args.star = try parseExpression()
            } else if skipOp("**") {
                args.doubleStar = try parseExpression()
            } else if case let .name(n) = current.kind, peek().kind == .op("=") {
                index += 2
                args.keywords.append((n, try parseExpression()))
            } else {
                guard args.keywords.isEmpty, args.star == nil, args.doubleStar == nil else {
                    throw ChatTemplateError.syntax("invalid syntax for function call expression", line: line)
                }
                args.positional.append(try parseExpression())
            }
            needComma = true
        }
        try expectOp(")")
        return args
    }

    /// `|f(args)|g ...`; with `inline`, the first filter has no leading pipe (`{% filter f %}`).
    mutating func parseFilterChain(inline: Bool) throws -> [(String, CallArgs)] {
        var chain: [(String, CallArgs)] = []
        var first = inline
        while first || skipOp("|") {
            first = false
            var name = try expectName()
            while skipOp(".") { name += "." + (try expectName()) }
            chain.append((name, isOp("(") ? try parseCallArgs() : CallArgs()))
        }
        return chain
    }

    mutating func parseTest(_ base: Expr) throws -> Expr {
        index += 1  // "is"
        let negated = skipName("not")
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        var args = CallArgs()
        if isOp("(") {
            args = try parseCallArgs()
        } else {
            var takesArgument = false
            switch current.kind {
            case let .name(n): takesArgument = !["else", "or", "and"].contains(n)
            case .string, .integer, .float, .op("["), .op("{"): takesArgument = true
            default: break
            }
            if takesArgument {
                if isName("is") { throw ChatTemplateError.syntax("You cannot chain multiple tests with is", line: line) }
                args.positional = [try parsePostfix(try parsePrimary())]
            }
        }
        let test = Expr.test(base, name: name, args)
        return negated ? .not(test) : test
    }
}
