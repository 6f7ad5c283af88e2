/// Splits a reasoning model's output into `reasoning_content` (between `<think>` and `</think>`)
/// and `content` (after), as DeepSeek's API does, on text that arrives in pieces that may cut the
/// tags anywhere.
///
/// It starts inside the reasoning when the rendered prompt already opened `<think>` (DeepSeek-R1
/// templates end with `<think>\n`); otherwise it waits to see whether the output opens with
/// `<think>` (leading whitespace allowed) and else passes everything to `content`. Newlines right
/// after `<think>` and after `</think>` are dropped.
public struct ReasoningSplitter: Sendable {
    public static let open = Array("<think>".utf8)
    public static let close = Array("</think>".utf8)

    enum Mode: Sendable { case detecting, reasoning, content }
    private var mode: Mode
    private var pending: [UInt8] = []
    /// Newlines at the start of the current part are still being dropped.
    private var trimLeadingNewlines: Bool
    /// True once any text went (or will go) to the reasoning part.
    public private(set) var hasReasoning: Bool

    /// - Parameter startsInReasoning: the prompt ends inside an open `<think>`.
    public init(startsInReasoning: Bool) {
        mode = startsInReasoning ? .reasoning : .detecting
        hasReasoning = startsInReasoning
        trimLeadingNewlines = startsInReasoning
    }

    /// Whether `prompt` ends inside an unclosed `<think>`.
    public static func promptOpensReasoning(_ prompt: String) -> Bool {
        guard let open = prompt.range(of: "<think>", options: .backwards) else { return false }
        return prompt[open.upperBound...].range(of: "</think>") == nil
    }

    /// Feeds a piece; returns the reasoning and content text now complete.
    public mutating func push(_ text: String) -> (reasoning: String, content: String) {
        pending += text.utf8
        var reasoning: [UInt8] = [], content: [UInt8] = []
        process(&reasoning, &content, final: false)
        return (String(decoding: reasoning, as: UTF8.self), String(decoding: content, as: UTF8.self))
    }

    /// Flushes what is held back at the end of the generation.
    public mutating func finish() -> (reasoning: String, content: String) {
        var reasoning: [UInt8] = [], content: [UInt8] = []
        process(&reasoning, &content, final: true)
        return (String(decoding: reasoning, as: UTF8.self), String(decoding: content, as: UTF8.self))
    }

    private mutating func process(_ reasoning: inout [UInt8], _ content: inout [UInt8], final: Bool) {
        while true {
            switch mode {
            case .detecting:
                let start = pending.firstIndex { !Self.isWhitespace($0) } ?? pending.count
                let rest = pending[start...]
                if rest.starts(with: Self.open) {
                    pending.removeFirst(start + Self.open.count)
                    mode = .reasoning; hasReasoning = true; trimLeadingNewlines = true
                    continue
                }
                if !final, Self.open.starts(with: rest) { return }  // still possibly "<think>"
                mode = .content
                continue
            case .reasoning:
                trimNewlines()
                if let at = find(Self.close) {
                    reasoning += pending[..<at]
                    pending.removeFirst(at + Self.close.count)
                    mode = .content; trimLeadingNewlines = true
                    continue
                }
                let keep = final ? pending.count : holdbackStart(Self.close)
                reasoning += pending[..<keep]
                pending.removeFirst(keep)
                return
            case .content:
                trimNewlines()
                content += pending
                pending.removeAll()
                return
            }
        }
    }

    private mutating func trimNewlines() {
        guard trimLeadingNewlines else { return }
        let n = pending.prefix { $0 == 0x0A || $0 == 0x0D }.count
        pending.removeFirst(n)
        if !pending.isEmpty { trimLeadingNewlines = false }
    }

    private func find(_ tag: [UInt8]) -> Int? {
        guard pending.count >= tag.count else { return nil }
        for i in 0...(pending.count - tag.count) where pending[i..<(i + tag.count)].elementsEqual(tag) { return i }
        return nil
    }

    /// Start of the longest suffix of `pending` that is a proper prefix of `tag`.
    private func holdbackStart(_ tag: [UInt8]) -> Int {
        var i = max(0, pending.count - (tag.count - 1))
        while i < pending.count {
            if tag.starts(with: pending[i...]) { return i }
            i += 1
        }
        return pending.count
    }

    private static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
}
