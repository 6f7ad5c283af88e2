// The matching loop of `ScalarRegex`: leftmost match at each start (Oniguruma semantics: ordered
// alternation, greedy-first backtracking), and the find-all used by `Split` pre-tokenizers.

/// A text prepared for matching: scalars plus their `ScalarInfo` bytes.
public struct ScalarText {
    /// The text's Unicode scalar values.
    public var scalars: [UInt32]
    var info: [UInt8]

    /// Prepares scalar values (each must be a valid scalar).
    public init(_ scalars: [UInt32]) {
        self.scalars = scalars
        info = scalars.map(ScalarInfo.of)
    }

    /// Prepares the scalars of `text`.
    public init(_ text: String) { self.init(text.unicodeScalars.map(\.value)) }
}

extension ScalarRegex {
    struct Frame {
        var pc: Int32
        var pos: Int32
        /// -1 for a split alternative; otherwise the count a `repCls` retries with.
        var n: Int32
    }

    /// Non-overlapping matches in `text[lo..<hi]` as half-open ranges, scanning left to right;
    /// empty matches are skipped.
    public func matches(in text: ScalarText, _ lo: Int, _ hi: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var stack: [Frame] = []
        appendMatches(in: text, lo, hi, into: &out, stack: &stack)
        return out
    }

    /// `matches(in:_:_:)` appending to `out`, with a caller-owned backtracking stack.
    func appendMatches(in text: ScalarText, _ lo: Int, _ hi: Int, into out: inout [Range<Int>], stack: inout [Frame]) {
        text.scalars.withUnsafeBufferPointer { s in
            text.info.withUnsafeBufferPointer { info in
                program.withUnsafeBufferPointer { prog in
                    classes.withUnsafeBufferPointer { cls in
                        var start = lo
                        while start < hi {
                            if let f = firstClass {  // skip positions where no match can start
                                while start < hi, !f.contains(s[start], info: info[start]) { start &+= 1 }
                                if start == hi { break }
                            }
                            let end = run(prog, cls, s, info, lo, hi, 0, start, &stack, 0)
                            if end > start {
                                out.append(start..<end)
                                start = end
                            } else { start += 1 }
                        }
                    }
                }
            }
        }
    }

    /// Runs from `pc0` at `pos0`; returns the end of the first match, or -1.
    func run(_ prog: UnsafeBufferPointer<Inst>, _ cls: UnsafeBufferPointer<ScalarClass>,
             _ s: UnsafeBufferPointer<UInt32>, _ info: UnsafeBufferPointer<UInt8>,
             _ lo: Int, _ hi: Int, _ pc0: Int, _ pos0: Int, _ stack: inout [Frame], _ base: Int) -> Int {
        var pc = pc0, pos = pos0
        while true {
            let inst = prog[pc]
            var ok = true
            switch inst.op {
            case .char:
                ok = pos < hi && s[pos] == UInt32(bitPattern: inst.a)
                if ok { pos &+= 1; pc &+= 1 }
            case .cls:
                ok = pos < hi && cls[Int(inst.a)].contains(s[pos], info: info[pos])
                if ok { pos &+= 1; pc &+= 1 }
            case .split:
                stack.append(Frame(pc: inst.b, pos: Int32(pos), n: -1))
                pc = Int(inst.a)
            case .jmp: pc = Int(inst.a)
            case .repCls:
                let k = cls[Int(inst.a)]
                let limit = inst.c < 0 ? hi : min(hi, pos &+ Int(inst.c))
                var e = pos
                while e < limit, k.contains(s[e], info: info[e]) { e &+= 1 }
                let count = e &- pos
                ok = count >= Int(inst.b)
                if ok {
                    if count > Int(inst.b) { stack.append(Frame(pc: Int32(pc), pos: Int32(pos), n: Int32(count - 1))) }
                    pos = e; pc &+= 1
                }
            case .aheadCls, .notAheadCls:
                let hit = pos < hi && cls[Int(inst.a)].contains(s[pos], info: info[pos])
                ok = hit == (inst.op == .aheadCls)
                if ok { pc &+= 1 }
            case .look:
                let sub = run(prog, cls, s, info, lo, hi, Int(inst.b), pos, &stack, stack.count)
                ok = (sub >= 0) == (inst.a == 0)
                if ok { pc = Int(inst.c) }
            case .lineStart:
                ok = pos == lo || s[pos &- 1] == 0x0A
                if ok { pc &+= 1 }
            case .lineEnd:
                ok = pos == hi || s[pos] == 0x0A
                if ok { pc &+= 1 }
            case .textStart:
                ok = pos == lo
                if ok { pc &+= 1 }
            case .textEnd:
                ok = pos == hi
                if ok { pc &+= 1 }
            case .textEndNewline:
                ok = pos == hi || (pos == hi &- 1 && s[pos] == 0x0A)
                if ok { pc &+= 1 }
            case .match:
                stack.removeSubrange(base...)
                return pos
            }
            if ok { continue }
            guard stack.count > base else { return -1 }
            let f = stack.removeLast()
            if f.n < 0 {
                pc = Int(f.pc); pos = Int(f.pos)
            } else {
                let inst = prog[Int(f.pc)]
                if f.n > inst.b { stack.append(Frame(pc: f.pc, pos: f.pos, n: f.n - 1)) }
                pos = Int(f.pos) + Int(f.n)
                pc = Int(f.pc) + 1
            }
        }
    }
}
