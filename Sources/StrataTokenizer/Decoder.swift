// Decoders (HF decoders/*.rs): they turn the token strings of ids back into text. Each works on
// the list of token strings (`decode_chain`); the results are concatenated at the end.

/// A decoder from `tokenizer.json`'s `decoder` section.
public indirect enum Decoder: Sendable {
    case sequence([Decoder])
    case byteLevel
    case replace(TextPattern, String)
    case byteFallback
    case fuse
    case strip(content: String, start: Int, stop: Int)
    case metaspace(replacement: Character, prependScheme: PrependScheme)

    /// True for a chain whose only step is ByteLevel (enables byte-exact streaming).
    var isPureByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case let .sequence(list): return list.count == 1 && list[0].isPureByteLevel
        default: return false
        }
    }

    /// Decodes a list of token strings.
    public func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case let .sequence(list): return list.reduce(tokens) { $1.decodeChain($0) }
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens { bytes += ByteLevel.decode(t) ?? Array(t.utf8) }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .replace(pattern, content): return tokens.map { pattern.replaceAll(in: $0, with: content) }
        case .byteFallback: return Self.byteFallback(tokens)
        case .fuse: return [tokens.joined()]
        case let .strip(content, start, stop): return tokens.map { Self.strip($0, content, start, stop) }
        case let .metaspace(rep, scheme):
            return tokens.enumerated().map { k, t in
                var s = String(t.map { $0 == rep ? " " : $0 })
                if k == 0, scheme != .never, s.hasPrefix(" ") { s.removeFirst() }
                return s
            }
        }
    }

    static func byteFallback(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else {
                out.append(String(repeating: "\u{FFFD}", count: pending.count))
            }
            pending = []
        }
        for t in tokens {
            if t.count == 6, t.hasPrefix("<0x"), t.hasSuffix(">"), let b = UInt8(t.dropFirst(3).prefix(2), radix: 16) {
                pending.append(b)
            } else {
                flush()
                out.append(t)
            }
        }
        flush()
        return out
    }

    static func strip(_ t: String, _ content: String, _ start: Int, _ stop: Int) -> String {
        var chars = Array(t)
        let c = Character(content)
        var n = 0
        while n < start, let f = chars.first, f == c { chars.removeFirst(); n += 1 }
        n = 0
        while n < stop, let l = chars.last, l == c { chars.removeLast(); n += 1 }
        return String(chars)
    }

    /// Parses a `decoder` object.
    public static func parse(_ node: JSONNode) throws -> Decoder {
        let type = try node["type"].string
        switch type {
        case "Sequence": return .sequence(try node["decoders"].array.map(parse))
        case "ByteLevel": return .byteLevel
        case "Replace": return .replace(try TextPattern.parse(node["pattern"]), try node["content"].string)
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            let content = try node["content"].string
            guard content.count == 1 else { throw node.bad("a single-character content") }
            return .strip(content: content, start: try node["start"].int, stop: try node["stop"].int)
        case "Metaspace":
            let (rep, scheme, _) = try PreTokenizer.metaspaceFields(node)
            return .metaspace(replacement: Character(Unicode.Scalar(rep)!), prependScheme: scheme)
        default: throw TokenizerError.unsupportedComponent(keyPath: node.path, type: type)
        }
    }
}
