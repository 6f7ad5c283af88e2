import Foundation

// Normalizers of HF `tokenizers` (normalizers/*.rs): they rewrite the text before pre-tokenization.

/// A text normalizer from `tokenizer.json`'s `normalizer` section.
public indirect enum Normalizer: Sendable {
    case sequence([Normalizer])
    case nfc, nfd, nfkc, nfkd, lowercase
    case prepend(String)
    case replace(TextPattern, String)
    case strip(left: Bool, right: Bool)

    /// Applies the normalizer.
    public func apply(_ text: String) -> String {
        switch self {
        case let .sequence(list): return list.reduce(text) { $1.apply($0) }
        case .nfc: return Self.below(text, 0x300) ? text : text.precomposedStringWithCanonicalMapping
        case .nfd: return Self.below(text, 0xC0) ? text : text.decomposedStringWithCanonicalMapping
        case .nfkc: return Self.below(text, 0x80) ? text : text.precomposedStringWithCompatibilityMapping
        case .nfkd: return Self.below(text, 0x80) ? text : text.decomposedStringWithCompatibilityMapping
        case .lowercase: return text.lowercased()
        case let .prepend(p): return text.isEmpty ? text : p + text
        case let .replace(pattern, content): return pattern.replaceAll(in: text, with: content)
        case let .strip(left, right):
            var s = Substring(text)
            if left { s = s.drop { $0.unicodeScalars.allSatisfy(\.properties.isWhitespace) } }
            if right { while let c = s.last, c.unicodeScalars.allSatisfy(\.properties.isWhitespace) { s = s.dropLast() } }
            return String(s)
        }
    }

    /// True when every scalar is below `limit`. Text below U+0300 is already NFC (no combining marks
    /// or singleton decompositions there), below U+00C0 also NFD, and ASCII is fixed by every form.
    static func below(_ text: String, _ limit: UInt32) -> Bool {
        if limit <= 0x80 { return text.utf8.allSatisfy { $0 < 0x80 } }
        return text.unicodeScalars.allSatisfy { $0.value < limit }
    }

    /// Parses a `normalizer` object.
    public static func parse(_ node: JSONNode) throws -> Normalizer {
        let type = try node["type"].string
        switch type {
        case "Sequence": return .sequence(try node["normalizers"].array.map(parse))
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Prepend": return .prepend(try node["prepend"].string)
        case "Replace": return .replace(try TextPattern.parse(node["pattern"]), try node["content"].string)
        case "Strip":
            return .strip(left: try node.bool("strip_left", default: true), right: try node.bool("strip_right", default: true))
        default: throw TokenizerError.unsupportedComponent(keyPath: node.path, type: type)
        }
    }
}

/// A `{"String": ...}` or `{"Regex": ...}` pattern, as Split and Replace use.
public enum TextPattern: Sendable {
    case literal([UInt32])
    case regex(ScalarRegex)

    static func parse(_ node: JSONNode) throws -> TextPattern {
        if let s = node.optional("String") {
            let lit = try s.string.unicodeScalars.map(\.value)
            return .literal(lit)
        }
        if let r = node.optional("Regex") { return .regex(try ScalarRegex(r.string)) }
        throw node.bad("{\"String\": ...} or {\"Regex\": ...}")
    }

    /// Non-overlapping matches in `text[lo..<hi]`.
    func matches(in text: ScalarText, _ lo: Int, _ hi: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var stack: [ScalarRegex.Frame] = []
        appendMatches(in: text, lo..<hi, into: &out, stack: &stack)
        return out
    }

    /// Appends the non-overlapping matches in `text[r]`, reusing `stack` for the regex VM.
    func appendMatches(in text: ScalarText, _ r: Range<Int>, into out: inout [Range<Int>], stack: inout [ScalarRegex.Frame]) {
        switch self {
        case let .regex(re): re.appendMatches(in: text, r.lowerBound, r.upperBound, into: &out, stack: &stack)
        case let .literal(lit):
            guard !lit.isEmpty else { return }
            var i = r.lowerBound
            let s = text.scalars
            while i + lit.count <= r.upperBound {
                if s[i] == lit[0], s[i..<i + lit.count].elementsEqual(lit) {
                    out.append(i..<i + lit.count)
                    i += lit.count
                } else { i += 1 }
            }
        }
    }

    func replaceAll(in text: String, with content: String) -> String {
        let t = ScalarText(text)
        let ms = matches(in: t, 0, t.scalars.count)
        guard !ms.isEmpty else { return text }
        var out = String.UnicodeScalarView()
        var prev = 0
        let rep = content.unicodeScalars
        for m in ms {
            out.append(contentsOf: t.scalars[prev..<m.lowerBound].map { Unicode.Scalar($0)! })
            out.append(contentsOf: rep)
            prev = m.upperBound
        }
        out.append(contentsOf: t.scalars[prev...].map { Unicode.Scalar($0)! })
        return String(out)
    }
}
