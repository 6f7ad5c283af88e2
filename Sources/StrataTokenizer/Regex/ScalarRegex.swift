// A compiled regex: a small backtracking VM over Unicode scalars (the RE2/Pike instruction set
// with a greedy single-class repeat instruction, so `\p{L}+` backtracks by count, not by frame).

/// A regex compiled for matching over scalar arrays. Immutable and thread-safe.
public struct ScalarRegex: Sendable {
    enum Op: UInt8, Sendable {
        case char, cls, split, jmp, repCls, look, aheadCls, notAheadCls
        case lineStart, lineEnd, textStart, textEnd, textEndNewline, match
    }

    struct Inst: Sendable {
        var op: Op
        var a: Int32 = 0
        var b: Int32 = 0
        var c: Int32 = 0
    }

    /// The source pattern.
    public let pattern: String
    let program: [Inst]
    let classes: [ScalarClass]
    /// The class every match's first scalar belongs to, when the program starts with one.
    let firstClass: ScalarClass?

    /// Compiles `pattern`, throwing `TokenizerError.unsupportedRegex` / `.invalidRegex`.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        var parser = RegexParser(pattern)
        let ast = try parser.parse()
        var compiler = RegexCompiler()
        compiler.emit(ast)
        guard compiler.program.count <= RegexCompiler.maxProgram else {
            throw TokenizerError.unsupportedRegex(pattern: pattern, construct: "repetitions expanding past \(RegexCompiler.maxProgram) instructions")
        }
        compiler.program.append(Inst(op: .match))
        program = compiler.program
        classes = compiler.classes
        let first = program[0]
        firstClass = first.op == .cls || (first.op == .repCls && first.b >= 1) ? classes[Int(first.a)] : nil
    }
}

struct RegexCompiler {
    /// Counted repetitions are unrolled; this bounds what nested counts may expand to.
    static let maxProgram = 200_000
    var program: [ScalarRegex.Inst] = []
    var classes: [ScalarClass] = []

    var here: Int32 { Int32(program.count) }

    mutating func add(_ op: ScalarRegex.Op, _ a: Int32 = 0, _ b: Int32 = 0, _ c: Int32 = 0) -> Int {
        program.append(.init(op: op, a: a, b: b, c: c))
        return program.count - 1
    }

    mutating func classIndex(_ k: ScalarClass) -> Int32 {
        classes.append(k)
        return Int32(classes.count - 1)
    }

    /// The single-scalar class a node matches, if it is one.
    func singleClass(_ node: RegexNode) -> ScalarClass? {
        switch node {
        case let .cls(k): return k
        case let .char(v):
            var k = ScalarClass()
            k.add(v...v)
            k.finish()
            return k
        default: return nil
        }
    }

    mutating func emit(_ node: RegexNode) {
        switch node {
        case let .char(v): _ = add(.char, Int32(bitPattern: v))
        case let .cls(k): _ = add(.cls, classIndex(k))
        case let .seq(items): for n in items { emit(n) }
        case let .alt(branches): emitAlternation(branches)
        case let .rep(n, lo, hi, greedy): emitRepeat(n, lo, hi, greedy)
        case let .look(n, negative):
            if let k = singleClass(n) {
                _ = add(negative ? .notAheadCls : .aheadCls, classIndex(k))
            } else {
                let at = add(.look, negative ? 1 : 0, here + 1)
                emit(n)
                _ = add(.match)
                program[at].c = here
            }
        case .lineStart: _ = add(.lineStart)
        case .lineEnd: _ = add(.lineEnd)
        case .textStart: _ = add(.textStart)
        case .textEnd: _ = add(.textEnd)
        case .textEndNewline: _ = add(.textEndNewline)
        }
    }

    mutating func emitAlternation(_ branches: [RegexNode]) {
        var exits: [Int] = []
        for (k, b) in branches.enumerated() {
            if k == branches.count - 1 { emit(b); break }
            let split = add(.split, here + 1)
            emit(b)
            exits.append(add(.jmp))
            program[split].b = here
        }
        for e in exits { program[e].a = here }
    }

    mutating func emitRepeat(_ n: RegexNode, _ lo: Int, _ hi: Int?, _ greedy: Bool) {
        if greedy, let k = singleClass(n) {
            _ = add(.repCls, classIndex(k), Int32(lo), Int32(hi ?? -1))
            return
        }
        for _ in 0..<lo where program.count <= Self.maxProgram { emit(n) }
        if let hi {
            var splits: [Int] = []
            for _ in lo..<hi where program.count <= Self.maxProgram {
                splits.append(add(.split))
                emit(n)
            }
            for sp in splits { setSplit(sp, body: Int32(sp + 1), exit: here, greedy) }
        } else {
            let sp = add(.split)
            emit(n)
            _ = add(.jmp, Int32(sp))
            setSplit(sp, body: Int32(sp + 1), exit: here, greedy)
        }
    }

    mutating func setSplit(_ at: Int, body: Int32, exit: Int32, _ greedy: Bool) {
        program[at].a = greedy ? body : exit
        program[at].b = greedy ? exit : body
    }
}
