// Post-processors (HF processors/*.rs): what `encode` adds around the model's ids when special
// tokens are requested. ByteLevel only adjusts offsets, so it adds nothing here.

/// A post-processor from `tokenizer.json`'s `post_processor` section (single-sequence behaviour).
public indirect enum PostProcessor: Sendable {
    case sequence([PostProcessor])
    case byteLevel
    /// `TemplateProcessing.single`: ids before and after the sequence.
    case template(prefix: [Int], suffix: [Int])

    /// Wraps the ids of one sequence.
    public func process(_ ids: [Int]) -> [Int] {
        switch self {
        case let .sequence(list): return list.reduce(ids) { $1.process($0) }
        case .byteLevel: return ids
        case let .template(prefix, suffix): return prefix + ids + suffix
        }
    }

    /// Parses a `post_processor` object.
    public static func parse(_ node: JSONNode) throws -> PostProcessor {
        let type = try node["type"].string
        switch type {
        case "Sequence": return .sequence(try node["processors"].array.map(parse))
        case "ByteLevel": return .byteLevel
        case "TemplateProcessing": return try parseTemplate(node)
        case "RobertaProcessing", "BertProcessing":
            let cls = try node["cls"].array, sep = try node["sep"].array
            guard cls.count == 2, sep.count == 2 else { throw node.bad("cls and sep as [token, id]") }
            return .template(prefix: [try cls[1].int], suffix: [try sep[1].int])
        default: throw TokenizerError.unsupportedComponent(keyPath: node.path, type: type)
        }
    }

    static func parseTemplate(_ node: JSONNode) throws -> PostProcessor {
        let specials = try node["special_tokens"]
        var prefix: [Int] = [], suffix: [Int] = []
        var seenSequence = false
        for item in try node["single"].array {
            if item.optional("Sequence") != nil { seenSequence = true; continue }
            let name = try item["SpecialToken"]["id"].string
            guard let entry = specials.optional(name) else {
                throw TokenizerError.unknownToken(keyPath: specials.path, token: name)
            }
            let ids = try entry["ids"].array.map { try $0.int }
            if seenSequence { suffix += ids } else { prefix += ids }
        }
        return .template(prefix: prefix, suffix: suffix)
    }
}
