// The pre-tokenizer kinds and their parsing from `tokenizer.json`.

/// How Metaspace adds its replacement character in front of a piece.
public enum PrependScheme: String, Sendable { case always, never, first }

/// A pre-tokenizer from `tokenizer.json`'s `pre_tokenizer` section.
public indirect enum PreTokenizer: Sendable {
    case sequence([PreTokenizer])
    case split(TextPattern, SplitBehavior, invert: Bool)
    /// Byte-level: optional prefix space, optional GPT-2 regex split; bytes are mapped by the model.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case digits(individual: Bool)
    case metaspace(replacement: UInt32, prependScheme: PrependScheme, split: Bool)
    case whitespaceSplit

    /// The GPT-2 pattern ByteLevel uses when `use_regex` is true.
    static let gpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
    static let gpt2Regex = try! ScalarRegex(gpt2Pattern)

    /// True when the chain contains a ByteLevel step (the model then consumes UTF-8 bytes).
    public var isByteLevel: Bool {
        switch self {
        case let .sequence(list): return list.contains { $0.isByteLevel }
        case .byteLevel: return true
        default: return false
        }
    }

    /// Applies the pre-tokenizer to every current piece.
    public func apply(_ p: inout Pieces) {
        switch self {
        case let .sequence(list): for s in list { s.apply(&p) }
        case let .split(pattern, behavior, invert):
            let text = p.text
            var stack: [ScalarRegex.Frame] = []
            p.split(behavior, invert: invert) { r, out in pattern.appendMatches(in: text, r, into: &out, stack: &stack) }
        case let .byteLevel(addPrefixSpace, useRegex):
            if addPrefixSpace, p.ranges.contains(where: { p.text.scalars[$0.lowerBound] != 0x20 }) {
                p.rewrite { _, s in s.first == 0x20 ? Array(s) : [0x20] + s }
            }
            if useRegex { PreTokenizer.split(.regex(Self.gpt2Regex), .isolated, invert: false).apply(&p) }
        case let .digits(individual):
            let text = p.text
            p.split(individual ? .isolated : .contiguous) { r, out in
                for i in r where isNumeric(text.info[i]) { out.append(i..<i + 1) }
            }
        case let .metaspace(replacement, scheme, split):
            p.rewrite { k, s in
                let body = s.map { $0 == 0x20 ? replacement : $0 }
                let prepend = scheme == .always || (scheme == .first && k == 0)
                return prepend && body.first != replacement ? [replacement] + body : body
            }
            if split {
                let text = p.text
                p.split(.mergedWithNext) { r, out in
                    for i in r where text.scalars[i] == replacement { out.append(i..<i + 1) }
                }
            }
        case .whitespaceSplit:
            let text = p.text
            p.split(.removed) { r, out in
                for i in r where text.info[i] & ScalarInfo.whitespaceBit != 0 { out.append(i..<i + 1) }
            }
        }
    }

    func isNumeric(_ info: UInt8) -> Bool {
        let cat = info & ScalarInfo.categoryMask
        return cat >= 8 && cat <= 10
    }

    /// Parses a `pre_tokenizer` object.
    public static func parse(_ node: JSONNode) throws -> PreTokenizer {
        let type = try node["type"].string
        switch type {
        case "Sequence": return .sequence(try node["pretokenizers"].array.map(parse))
        case "Split":
            let raw = try node["behavior"].string
            guard let behavior = SplitBehavior(rawValue: raw) else {
                throw TokenizerError.unsupportedComponent(keyPath: node.path + ".behavior", type: raw)
            }
            return .split(try TextPattern.parse(node["pattern"]), behavior, invert: try node.bool("invert", default: false))
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try node.bool("add_prefix_space", default: true),
                              useRegex: try node.bool("use_regex", default: true))
        case "Digits": return .digits(individual: try node.bool("individual_digits", default: false))
        case "Metaspace": return try parseMetaspace(node)
        case "WhitespaceSplit": return .whitespaceSplit
        default: throw TokenizerError.unsupportedComponent(keyPath: node.path, type: type)
        }
    }

    static func parseMetaspace(_ node: JSONNode) throws -> PreTokenizer {
        let (rep, scheme, split) = try metaspaceFields(node)
        return .metaspace(replacement: rep, prependScheme: scheme, split: split)
    }

    /// (replacement, prepend scheme, split) of a Metaspace pre-tokenizer or decoder.
    static func metaspaceFields(_ node: JSONNode) throws -> (UInt32, PrependScheme, Bool) {
        let rep = try node.string("replacement", default: "\u{2581}").unicodeScalars
        guard rep.count == 1 else { throw node.bad("a single-character replacement") }
        var scheme = PrependScheme.always
        if let s = node.optional("prepend_scheme") {
            guard let v = PrependScheme(rawValue: try s.string) else { throw s.bad("always, never or first") }
            scheme = v
        } else if try !node.bool("add_prefix_space", default: true) {
            scheme = .never
        }
        return (rep.first!.value, scheme, try node.bool("split", default: true))
    }
}
