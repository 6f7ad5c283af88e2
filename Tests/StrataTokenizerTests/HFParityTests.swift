import StrataTestSupport
import StrataTokenizer
import Testing

/// Strata against Hugging Face `tokenizers` on the committed corpus (Fixtures/<name>.json).
@Suite struct HFParityTests {
    static let cases = Fixtures.names.filter { TestAssets.available(Fixtures.tokenizerPath($0)) }

    @Test("encode equals HF ids", arguments: cases)
    func encodeMatchesHF(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        let ref = try Fixtures.reference(name)
        #expect(ref.ids.count == Fixtures.corpus.count && Fixtures.corpus.count >= 300)
        var matched = 0
        for (i, text) in Fixtures.corpus.enumerated() {
            let ids = tok.encode(text)
            #expect(ids == ref.ids[i], "\(name) string #\(i) \(text.debugDescription.prefix(80))")
            if ids == ref.ids[i] { matched += 1 }
        }
        #expect(matched == Fixtures.corpus.count, "\(name): \(matched)/\(Fixtures.corpus.count) strings match")
    }

    @Test("decode equals HF decode", arguments: cases)
    func decodeMatchesHF(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        let ref = try Fixtures.reference(name)
        for (i, ids) in ref.ids.enumerated() {
            #expect(tok.decode(ids) == ref.decoded[i], "\(name) string #\(i)")
            #expect(tok.decode(ids, skipSpecialTokens: true) == ref.decodedSkipSpecial[i], "\(name) string #\(i) (skip special)")
        }
    }

    @Test("decode(encode(x)) == x wherever HF round-trips", arguments: cases)
    func roundTrip(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        let ref = try Fixtures.reference(name)
        var roundTrips = 0
        for (i, text) in Fixtures.corpus.enumerated() where ref.decoded[i] == text {
            roundTrips += 1
            #expect(tok.decode(tok.encode(text)) == text, "\(name) string #\(i)")
        }
        #expect(roundTrips > Fixtures.corpus.count / 2, "\(name): HF round-trips only \(roundTrips) strings")
    }

    @Test("addSpecialTokens: false skips the post-processor only", arguments: cases)
    func noSpecialTokens(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        // None of these tokenizer.json files has a TemplateProcessing post-processor.
        #expect(tok.encode("Hello world", addSpecialTokens: false) == tok.encode("Hello world"))
    }
}
