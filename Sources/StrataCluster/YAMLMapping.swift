import Yams

/// A YAML mapping read through Yams' composed nodes, so every error can name its key path and line.
struct YAMLMapping {
    struct Entry {
        var key: String
        var line: Int
        var value: Node
    }

    /// Key path of this mapping ("" for the document root, "coordinator", "workers[0]").
    let keyPath: String
    /// Line where the mapping starts.
    let line: Int
    let entries: [Entry]

    /// Reads `node` as a mapping with string keys; duplicate keys are errors.
    init(_ node: Node, keyPath: String, line: Int) throws {
        guard case let .mapping(mapping) = node else {
            throw ClusterError.wrongType(key: keyPath.isEmpty ? "(document)" : keyPath, line: node.line(or: line), expected: "a mapping")
        }
        self.keyPath = keyPath
        self.line = node.line(or: line)
        var entries: [Entry] = []
        for (k, v) in mapping {
            let keyLine = k.line(or: self.line)
            guard case let .scalar(s) = k else {
                throw ClusterError.wrongType(key: keyPath.isEmpty ? "(key)" : keyPath + ".(key)", line: keyLine, expected: "a plain string key")
            }
            if let first = entries.first(where: { $0.key == s.string }) {
                throw ClusterError.duplicateValue(key: Self.join(keyPath, s.string), line: keyLine, value: s.string, firstLine: first.line)
            }
            entries.append(Entry(key: s.string, line: keyLine, value: v))
        }
        self.entries = entries
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The full key path of `key` in this mapping.
    func path(_ key: String) -> String { Self.join(keyPath, key) }

    /// Fails on the first key not in `allowed`.
    func rejectUnknownKeys(allowed: [String]) throws {
        for e in entries where !allowed.contains(e.key) {
            throw ClusterError.unknownKey(key: path(e.key), line: e.line, allowed: allowed)
        }
    }

    func entry(_ key: String) -> Entry? { entries.first { $0.key == key } }

    func required(_ key: String) throws -> Entry {
        guard let e = entry(key) else { throw ClusterError.missingKey(key: path(key), line: line) }
        return e
    }

    /// A scalar's text; null and non-scalars are type errors.
    func scalar(_ e: Entry, expected: String) throws -> (text: String, line: Int) {
        let line = e.value.line(or: e.line)
        guard case let .scalar(s) = e.value, e.value.null == nil else {
            throw ClusterError.wrongType(key: path(e.key), line: line, expected: expected)
        }
        return (s.string, line)
    }

    func string(_ e: Entry) throws -> (text: String, line: Int) {
        let (text, line) = try scalar(e, expected: "a string")
        guard !text.isEmpty else { throw ClusterError.invalidValue(key: path(e.key), line: line, value: text, reason: "must not be empty") }
        return (text, line)
    }

    /// A positive integer.
    func positiveInt(_ e: Entry) throws -> Int {
        let (text, line) = try scalar(e, expected: "an integer")
        guard let v = e.value.int else { throw ClusterError.wrongType(key: path(e.key), line: line, expected: "an integer") }
        guard v > 0 else { throw ClusterError.invalidValue(key: path(e.key), line: line, value: text, reason: "must be positive") }
        return v
    }

    /// A positive, finite number.
    func positiveNumber(_ e: Entry) throws -> Double {
        let (text, line) = try scalar(e, expected: "a number")
        guard let v = e.value.float ?? e.value.int.map(Double.init) else {
            throw ClusterError.wrongType(key: path(e.key), line: line, expected: "a number")
        }
        guard v > 0, v.isFinite else { throw ClusterError.invalidValue(key: path(e.key), line: line, value: text, reason: "must be a positive number") }
        return v
    }

    /// A sequence's items.
    func sequence(_ e: Entry) throws -> [Node] {
        guard case let .sequence(s) = e.value else {
            throw ClusterError.wrongType(key: path(e.key), line: e.value.line(or: e.line), expected: "a list")
        }
        return Array(s)
    }
}

extension Node {
    /// The node's line in the document, or `fallback` when Yams has no mark for it.
    func line(or fallback: Int) -> Int { mark?.line ?? fallback }
}
