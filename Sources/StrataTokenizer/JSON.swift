// A small JSON reader for tokenizer files: a byte-level recursive-descent parser (RFC 8259) and a
// `JSONNode` view that carries its key path, so every type error names where it happened.

/// A parsed JSON value.
public indirect enum JSON: Equatable, Sendable {
    case null, bool(Bool), number(Double), string(String), array([JSON]), object(JSONObject)

    /// Parses a complete JSON document.
    public static func parse(_ bytes: [UInt8]) throws -> JSON {
        var p = JSONParser(bytes: bytes)
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw TokenizerError.invalidJSON(offset: p.i, reason: "trailing characters") }
        return v
    }

    /// Parses a complete JSON document from text.
    public static func parse(_ text: String) throws -> JSON { try parse(Array(text.utf8)) }
}

struct JSONParser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ reason: String) -> TokenizerError { .invalidJSON(offset: i, reason: reason) }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func value(depth: Int) throws -> JSON {
        guard depth < 512 else { throw fail("nesting too deep") }
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    mutating func literal(_ word: String) throws {
        for b in word.utf8 {
            guard i < bytes.count, bytes[i] == b else { throw fail("expected \(word)") }
            i += 1
        }
    }

    mutating func object(depth: Int) throws -> JSON {
        i += 1
        var out = JSONObject()
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected object key") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            i += 1
            out.keys.append(key)
            out.values.append(try value(depth: depth + 1))
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws -> JSON {
        i += 1
        var out: [JSON] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
        while true {
            out.append(try value(depth: depth + 1))
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func number() throws -> Double {
        let start = i
        while i < bytes.count, let c = Optional(bytes[i]),
              (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2B || c == 0x2E || c == 0x65 || c == 0x45 { i += 1 }
        guard i > start, let v = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else {
            i = start
            throw fail("unexpected character")
        }
        return v
    }

    mutating func string() throws -> String {
        i += 1
        let start = i
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
        guard i < bytes.count else { throw fail("unterminated string") }
        if bytes[i] == UInt8(ascii: "\"") {
            defer { i += 1 }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; return String(decoding: out, as: UTF8.self) }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"): out.append(contentsOf: Array(String(try unicodeEscape()).utf8))
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            default: throw fail("bad escape")
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }

    /// Decodes `\uXXXX` (after the `u`), joining surrogate pairs; a lone surrogate becomes U+FFFD.
    mutating func unicodeEscape() throws -> Character {
        let hi = try hex4()
        if hi >= 0xD800, hi < 0xDC00, i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
            let save = i
            i += 2
            let lo = try hex4()
            if lo >= 0xDC00, lo < 0xE000 {
                return Character(Unicode.Scalar(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))!)
            }
            i = save
        }
        return Character(Unicode.Scalar(hi) ?? "\u{FFFD}")
    }
}

/// A JSON object in document order. Lookup is by exact key bytes (the last duplicate wins);
/// large objects such as vocabularies are iterated, never searched.
public struct JSONObject: Equatable, Sendable {
    /// Keys and values in document order.
    public var keys: [String] = []
    public var values: [JSON] = []

    /// Number of members.
    public var count: Int { keys.count }

    /// The value of `key` (exact bytes; the last duplicate wins).
    public subscript(key: String) -> JSON? {
        let k = RawString(key)
        for i in keys.indices.reversed() where RawString(keys[i]) == k { return values[i] }
        return nil
    }
}

/// A JSON value together with its key path, for typed access with precise error messages.
public struct JSONNode: Sendable {
    /// The value and where it sits in the document (`model.merges[3]`).
    public let value: JSON
    public let path: String

    /// Wraps a value; `path` is empty for the document root.
    public init(_ value: JSON, path: String = "") {
        self.value = value
        self.path = path
    }

    func bad(_ expected: String) -> TokenizerError { .malformed(keyPath: path.isEmpty ? "<root>" : path, expected: expected) }

    /// The child at `key`, which must exist (null counts as absent).
    public subscript(key: String) -> JSONNode {
        get throws {
            guard let v = optional(key) else { throw JSONNode(.null, path: childPath(key)).bad("a value") }
            return v
        }
    }

    /// The child at `key`, or nil when missing or null.
    public func optional(_ key: String) -> JSONNode? {
        guard case let .object(o) = value, let v = o[key], v != .null else { return nil }
        return JSONNode(v, path: childPath(key))
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// Typed accessors; each throws `TokenizerError.malformed` naming `path` on a type mismatch.
    public var isNull: Bool { value == .null }
    public var string: String { get throws { guard case let .string(s) = value else { throw bad("a string") }; return s } }
    public var bool: Bool { get throws { guard case let .bool(b) = value else { throw bad("a boolean") }; return b } }
    public var int: Int {
        get throws {
            guard case let .number(d) = value, d.rounded() == d, abs(d) < 9e15 else { throw bad("an integer") }
            return Int(d)
        }
    }
    public var array: [JSONNode] {
        get throws {
            guard case let .array(a) = value else { throw bad("an array") }
            return a.enumerated().map { JSONNode($1, path: "\(path)[\($0)]") }
        }
    }
    public var object: JSONObject {
        get throws { guard case let .object(o) = value else { throw bad("an object") }; return o }
    }

    /// `string` of an optional child, or the default when absent.
    public func string(_ key: String, default d: String) throws -> String { try optional(key)?.string ?? d }
    /// `bool` / `int` of an optional child, or the default when absent.
    public func bool(_ key: String, default d: Bool) throws -> Bool { try optional(key)?.bool ?? d }
    public func int(_ key: String, default d: Int) throws -> Int { try optional(key)?.int ?? d }
}
