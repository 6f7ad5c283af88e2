import StrataTestSupport
import StrataTokenizer
import Testing

/// `StreamingDecoder`: chunks concatenate to `decode(all)` and never split a UTF-8 character.
@Suite struct StreamingDecoderTests {
    static let cases = Fixtures.names.filter { TestAssets.available(Fixtures.tokenizerPath($0)) }

    /// Streams `ids` one at a time; returns the chunks (the last from `finish()`).
    func stream(_ tok: Tokenizer, _ ids: [Int], skip: Bool = false) -> [String] {
        var d = StreamingDecoder(tokenizer: tok, skipSpecialTokens: skip)
        return ids.map { d.push($0) } + [d.finish()]
    }

    @Test("streamed chunks concatenate to decode(all)", arguments: cases)
    func concatenationEqualsDecode(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        let ref = try Fixtures.reference(name)
        for (i, ids) in ref.ids.enumerated() {
            for skip in [false, true] {
                let chunks = stream(tok, ids, skip: skip)
                let whole = tok.decode(ids, skipSpecialTokens: skip)
                #expect(chunks.joined() == whole, "\(name) string #\(i) skip=\(skip)")
                if !whole.contains("\u{FFFD}") {
                    let broken = chunks.contains { $0.contains("\u{FFFD}") }
                    #expect(!broken, "\(name) string #\(i): a chunk split a character")
                }
            }
        }
    }

    @Test("multi-byte characters are held back until complete", .enabled(if: TestAssets.available(TestAssets.smolLM2)))
    func holdsBackIncompleteCharacters() throws {
        let tok = try Fixtures.tokenizer(TestAssets.smolLM2)
        let ids = tok.encode("🤖")  // four byte tokens in this vocabulary
        #expect(ids.count > 1)
        let chunks = stream(tok, ids)
        let early = chunks.dropLast(2).allSatisfy { $0.isEmpty }
        #expect(early)
        #expect(chunks.joined() == "🤖")
    }

    @Test("an unfinished character is flushed as U+FFFD, like decode", .enabled(if: TestAssets.available(TestAssets.smolLM2)))
    func flushesIncompleteTail() throws {
        let tok = try Fixtures.tokenizer(TestAssets.smolLM2)
        let ids = Array(tok.encode("a🤖").dropLast())
        let chunks = stream(tok, ids)
        #expect(chunks.joined() == tok.decode(ids))
        #expect(chunks.last == "\u{FFFD}")
    }
}
