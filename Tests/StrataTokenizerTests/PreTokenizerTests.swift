import StrataTokenizer
import Testing

/// Pre-tokenizer behaviours, with HF `tokenizers`' documented examples.
@Suite struct PreTokenizerTests {
    func pieces(_ pre: PreTokenizer, _ text: String) -> [String] {
        var p = Pieces(ScalarText(text))
        pre.apply(&p)
        return p.ranges.map { r in String(String.UnicodeScalarView(p.text.scalars[r].map { Unicode.Scalar($0)! })) }
    }

    static let dash = TextPattern.literal([0x2D])

    @Test(arguments: [
        (SplitBehavior.removed, ["the", "final", "countdown"]),
        (.isolated, ["the", "-", "final", "-", "-", "countdown"]),
        (.mergedWithPrevious, ["the-", "final-", "-", "countdown"]),
        (.mergedWithNext, ["the", "-final", "-", "-countdown"]),
        (.contiguous, ["the", "-", "final", "--", "countdown"]),
    ])
    func splitBehaviors(behavior: SplitBehavior, expected: [String]) {
        #expect(pieces(.split(Self.dash, behavior, invert: false), "the-final--countdown") == expected)
    }

    @Test func invertedSplitRemovesTheNonMatches() {
        #expect(pieces(.split(Self.dash, .removed, invert: true), "the-final--countdown") == ["-", "-", "-"])
    }

    @Test func digits() {
        #expect(pieces(.digits(individual: true), "ab123c4") == ["ab", "1", "2", "3", "c", "4"])
        #expect(pieces(.digits(individual: false), "ab123c4") == ["ab", "123", "c", "4"])
    }

    @Test func byteLevelPrefixSpaceAndRegex() {
        #expect(pieces(.byteLevel(addPrefixSpace: true, useRegex: true), "hello world's  end") == [" hello", " world", "'s", " ", " end"])
        #expect(pieces(.byteLevel(addPrefixSpace: false, useRegex: false), "hello world") == ["hello world"])
    }

    @Test func metaspace() {
        #expect(pieces(.metaspace(replacement: 0x2581, prependScheme: .always, split: true), "hello world") == ["▁hello", "▁world"])
        #expect(pieces(.metaspace(replacement: 0x2581, prependScheme: .never, split: false), "a b") == ["a▁b"])
    }
}
