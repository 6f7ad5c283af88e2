import StrataTokenizer
import Testing

/// A hand-made tokenizer.json exercising added tokens (lstrip/rstrip/single_word/normalized),
/// NFKC + Replace normalizers, a MergedWithNext split, merges as pairs and TemplateProcessing.
/// Expected ids come from HF `tokenizers` 0.23.3 on the same file.
@Suite struct TinyTokenizerTests {
    static let json = #"""
{"version":"1.0","added_tokens":[
 {"id":8,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
 {"id":9,"content":"[M]","single_word":false,"lstrip":true,"rstrip":true,"normalized":false,"special":true},
 {"id":10,"content":"cab","single_word":true,"lstrip":false,"rstrip":false,"normalized":true,"special":false}],
 "normalizer":{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Replace","pattern":{"String":"!"},"content":"?"}]},
 "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"MergedWithNext","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}]},
 "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[{"Sequence":{"id":"A","type_id":0}}],"special_tokens":{"<s>":{"id":"<s>","ids":[8],"tokens":["<s>"]}}},
 "decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
 "model":{"type":"BPE","dropout":null,"unk_token":null,"fuse_unk":false,"byte_fallback":false,"ignore_merges":false,
  "vocab":{"a":0,"b":1,"c":2,"Ġ":3,"ab":4,"?":5,"Ġab":6,"fi":7},"merges":[["a","b"],["Ġ","ab"]]}}
"""#

    func tokenizer() throws -> Tokenizer { try Tokenizer(json: JSON.parse(Self.json)) }

    @Test(arguments: [
        ("ab c", [8, 4, 3, 2]),
        ("ab  ab!", [8, 4, 3, 6, 5]),
        ("x [M]  ab", [8, 9, 4]),
        ("cab ab cab", [8, 10, 6, 3, 10]),
        ("ab cabc", [8, 4, 3, 2, 4, 2]),
        ("<s>ab", [8, 8, 4]),
        ("\u{FB01} a", [8, 3, 0]),
        ("", [8]),
    ])
    func encodesLikeHF(text: String, expected: [Int]) throws {
        let tok = try tokenizer()
        #expect(tok.encode(text) == expected, "tiny \(text.debugDescription)")
        #expect(tok.encode(text, addSpecialTokens: false) == Array(expected.dropFirst()), "tiny \(text.debugDescription)")
    }

    @Test func decodesLikeHF() throws {
        let tok = try tokenizer()
        #expect(tok.decode([8, 9, 4]) == "<s>[M]ab")
        #expect(tok.decode([8, 9, 4], skipSpecialTokens: true) == "ab")
        #expect(tok.decode([4, 8, 4], skipSpecialTokens: true) == "abab")
        #expect(tok.decode([4, 3, 6, 5]) == "ab  ab?")
        #expect(tok.decode([10, 8]) == "cab<s>")
    }
}
