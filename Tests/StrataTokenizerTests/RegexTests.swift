import StrataTokenizer
import Testing

/// The scalar regex engine on the constructs pre-tokenizers use, and its typed errors.
@Suite struct RegexTests {
    /// The matched substrings of `pattern` in `text`.
    func matches(_ pattern: String, _ text: String) throws -> [String] {
        let re = try ScalarRegex(pattern)
        let t = ScalarText(text)
        return re.matches(in: t, 0, t.scalars.count).map { r in
            String(String.UnicodeScalarView(t.scalars[r].map { Unicode.Scalar($0)! }))
        }
    }

    @Test(arguments: [
        ("\\p{N}{1,3}", "1234567 ab 89", ["123", "456", "7", "89"]),
        ("\\s+(?!\\S)|\\s+", "a   b  ", ["  ", " ", "  "]),
        ("(?i:'s|'t|'re)", "IT'S it's we'RE 'T", ["'S", "'s", "'RE", "'T"]),
        ("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+", " hello,world\nnext", [" hello", ",world", "next"]),
        ("\\s+$", "ab  ", ["  "]),
        ("a|ab", "ab", ["a"]),
        ("a+?", "aaa", ["a", "a", "a"]),
        ("(ab)+", "ababx", ["abab"]),
        ("(?:ab){2,}", "ab abab ababab", ["abab", "ababab"]),
        ("a{", "a{", ["a{"]),
        ("[a-c]+", "abcd", ["abc"]),
        ("\\x41\\u00e9\\x{1F600}", "Aé😀", ["Aé😀"]),
        (".+", "ab\ncd", ["ab", "cd"]),
        ("b(?=a|c)", "ba bc bd", ["b", "b"]),
        ("[\\p{L}\\p{M}]+", "e\u{301}x 1", ["e\u{301}x"]),
        ("[\u{4e00}-\u{9fa5}]+", "中文abc日本", ["中文", "日本"]),
        ("\\S+", "a\u{3000}b\u{a0}c", ["a", "b", "c"]),
        ("[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+", "x.Foo[bar", [".Foo", "[bar"]),
        ("\\d+|\\w+", "ab_1 23", ["ab_1", "23"]),
        ("^a|b$", "aab\nab", ["a", "b", "a", "b"]),
        ("(?i)k", "kKK", ["k", "K", "K"]),
    ])
    func matchesLikeOniguruma(pattern: String, text: String, expected: [String]) throws {
        #expect(try matches(pattern, text) == expected, "pattern \(pattern.debugDescription)")
    }

    @Test(arguments: [
        ("(?<=a)b", "lookbehind"), ("a++", "possessive"), ("(?>a)", "atomic"), ("\\bword", "word boundary"),
        ("(a)\\1", "\\1"), ("\\p{Han}", "Han"), ("[[:alpha:]]", "POSIX"), ("(?m:a)", "(?m"), ("(?<n>a)", "named"),
        ("[a[b]]", "nested"), ("[a&&b]", "&&"), ("((a{1000}){1000}){1000}", "instructions"),
    ])
    func unsupportedConstructsAreNamed(pattern: String, construct: String) {
        do {
            _ = try ScalarRegex(pattern)
            Issue.record("\(pattern) compiled")
        } catch let TokenizerError.unsupportedRegex(p, c) {
            #expect(p == pattern)
            #expect(c.contains(construct), "\(c)")
        } catch { Issue.record("\(pattern): unexpected \(error)") }
    }

    @Test(arguments: ["(ab", "[abc", "*a", "a{3,1}", "ab)", "\\", "[z-a]", "\\x{110000}"])
    func invalidPatternsThrow(pattern: String) {
        #expect(throws: TokenizerError.self) { try ScalarRegex(pattern) }
    }
}
