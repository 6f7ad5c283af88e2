import StrataServer
import Testing

@Suite struct ReasoningSplitterTests {
    func run(_ pieces: [String], startsInReasoning: Bool) -> (reasoning: String, content: String) {
        var s = ReasoningSplitter(startsInReasoning: startsInReasoning)
        var reasoning = "", content = ""
        for p in pieces {
            let r = s.push(p)
            reasoning += r.reasoning; content += r.content
        }
        let r = s.finish()
        return (reasoning + r.reasoning, content + r.content)
    }

    /// Every way of cutting `text` into three pieces.
    func splits(_ text: String) -> [[String]] {
        let chars = Array(text)
        var out: [[String]] = []
        for i in 0...chars.count {
            for j in i...chars.count { out.append([String(chars[..<i]), String(chars[i..<j]), String(chars[j...])]) }
        }
        return out
    }

    @Test func promptOpenedThinkSplitsAtTheCloseTag() {
        for pieces in splits("Let me think.\n</think>\n\nThe answer is 4.") {
            let r = run(pieces, startsInReasoning: true)
            #expect(r.reasoning == "Let me think.\n", "\(pieces)")
            #expect(r.content == "The answer is 4.", "\(pieces)")
        }
    }

    @Test func outputOpeningThinkIsDetected() {
        for pieces in splits("<think>\nhmm\n</think>\n\nYes.") {
            let r = run(pieces, startsInReasoning: false)
            #expect(r.reasoning == "hmm\n", "\(pieces)")
            #expect(r.content == "Yes.", "\(pieces)")
        }
    }

    @Test func plainOutputIsAllContent() {
        for pieces in splits("<thin air> and </think> stay") {
            let r = run(pieces, startsInReasoning: false)
            #expect(r.reasoning == "")
            #expect(r.content == "<thin air> and </think> stay", "\(pieces)")
        }
    }

    @Test func unclosedReasoningStaysReasoning() {
        let r = run(["still", " thinking </thi"], startsInReasoning: true)
        #expect(r.reasoning == "still thinking </thi")
        #expect(r.content == "")
    }

    @Test func shortOutputThatCouldBeAnOpenTagIsContent() {
        #expect(run(["<th"], startsInReasoning: false).content == "<th")
    }

    @Test func detectsAnOpenThinkInThePrompt() {
        #expect(ReasoningSplitter.promptOpensReasoning("<|Assistant|><think>\n"))
        #expect(!ReasoningSplitter.promptOpensReasoning("<think>x</think><|Assistant|>"))
        #expect(!ReasoningSplitter.promptOpensReasoning("<|im_start|>assistant\n"))
    }
}
