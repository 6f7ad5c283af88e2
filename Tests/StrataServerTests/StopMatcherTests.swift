import StrataServer
import Testing

@Suite struct StopMatcherTests {
    /// Feeds `pieces` and returns the released text and whether a stop matched.
    func run(_ stops: [String], _ pieces: [String]) -> (text: String, matched: Bool, released: [String]) {
        var m = StopMatcher(stops: stops)
        var released: [String] = []
        for p in pieces {
            released.append(m.push(p))
            if m.matched { return (released.joined(), true, released) }
        }
        released.append(m.finish())
        return (released.joined(), false, released)
    }

    @Test func matchesAStopSplitAcrossTokens() {
        let r = run(["\nUser:"], ["Hello", " there", "\n", "Us", "er", ":", " more"])
        #expect(r.text == "Hello there")
        #expect(r.matched)
    }

    @Test func holdsBackOnlyWhatCouldStartAStop() {
        let r = run(["END"], ["abc", "E", "N", "x", "yz"])
        // "E" and "EN" are held until "x" shows they are not the stop string.
        #expect(r.released == ["abc", "", "", "ENx", "yz", ""])
        #expect(r.text == "abcENxyz")
        #expect(!r.matched)
    }

    @Test func releasesHeldPrefixAtTheEnd() {
        let r = run(["</s>"], ["one", " two", "</"])
        #expect(r.text == "one two</")
        #expect(!r.matched)
    }

    @Test func earliestOfSeveralStopsWins() {
        let r = run(["cat", "at the"], ["the c", "at the"])
        #expect(r.text == "the ")
        #expect(r.matched)
    }

    @Test func stopInsideOneToken() {
        let r = run(["."], ["Hi. Bye."])
        #expect(r.text == "Hi")
    }

    @Test func stopAtTheVeryStart() {
        let r = run(["##"], ["#", "#", "tail"])
        #expect(r.text == "")
        #expect(r.matched)
    }

    @Test func overlappingPrefixesAreNotLost() {
        // "aab" contains the stop "ab" starting at the second "a".
        let r = run(["ab"], ["a", "a", "b"])
        #expect(r.text == "a")
        #expect(r.matched)
    }

    @Test func multibyteCharactersStayWhole() {
        let r = run(["é!"], ["caf", "é", "é", "!", "x"])
        #expect(r.text == "café")
        #expect(r.matched)
    }

    @Test func everySplitOfTheTextGivesTheSameResult() {
        let text = "The answer is 42.\n\nQuestion: next"
        let stops = ["\n\nQuestion:", "STOP"]
        for cut1 in 0...text.count {
            for cut2 in cut1...text.count {
                let a = String(text.prefix(cut1)), b = String(text.dropFirst(cut1).prefix(cut2 - cut1)), c = String(text.dropFirst(cut2))
                let r = run(stops, [a, b, c])
                #expect(r.text == "The answer is 42.", "cuts \(cut1), \(cut2)")
                #expect(r.matched)
            }
        }
    }

    @Test func noStopsPassesEverythingThrough() {
        let r = run([], ["a", "b"])
        #expect(r.released == ["a", "b", ""])
        let empty = run([""], ["a"])
        #expect(empty.text == "a")
    }
}
