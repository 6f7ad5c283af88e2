import StrataTokenizer

/// Any JSON value, for request fields passed through to the chat template untouched
/// (`tools`, `tool_calls`, extra message keys).
public indirect enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Swift.Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// The value as the template engine sees it (integral numbers become ints; object keys sorted,
    /// since JSON decoding does not keep their order).
    var templateValue: Value {
        switch self {
        case .null: return .none
        case let .bool(b): return .bool(b)
        case let .number(d): return d.rounded() == d && abs(d) < 1e15 ? .int(Int(d)) : .double(d)
        case let .string(s): return .string(s)
        case let .array(a): return .array(a.map(\.templateValue))
        case let .object(o):
            var d = ValueDict()
            for k in o.keys.sorted() { d[k] = o[k]!.templateValue }
            return .dict(d)
        }
    }
}
