// Template values with Python semantics: chat templates are Jinja2 run by Python, so truthiness,
// `str()`, equality, ordering and dict order follow CPython (jinja2 3.1 + transformers' sandbox).

/// A value a chat template sees or produces: JSON data plus the few Jinja runtime objects
/// (undefined, namespace, callable).
public enum Value: @unchecked Sendable {
    /// Jinja's `Undefined`: a missing variable, key or attribute. `hint` names it for error messages.
    case undefined(hint: String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// A Python list.
    case array([Value])
    /// A Python tuple (`dict.items()` pairs, `(a, b)` literals): like a list, but prints as `(a, b)`.
    case tuple([Value])
    /// A Python dict, insertion-ordered.
    case dict(ValueDict)
    /// What Jinja filters and dict methods return lazily in Python: a generator (`map`, `select`,
    /// `unique`, `|items`), a reverse iterator, or a dict view (`d.items()`). Iterable, but no
    /// len() (except views), always true (except empty views), not JSON-serializable.
    case iterator(PyIterator)
    /// A `namespace()` object: the one mutable value, shared by reference.
    case namespace(Namespace)
    /// A callable: builtin, bound method or macro.
    case function(Function)

    public static func undefined(_ hint: String) -> Value { .undefined(hint: hint) }

    /// A dict built from string keys in the given order.
    public static func object(_ pairs: KeyValuePairs<String, Value>) -> Value {
        var d = ValueDict()
        for (k, v) in pairs { d[.string(k)] = v }
        return .dict(d)
    }

    public var isUndefined: Bool { if case .undefined = self { return true }; return false }
    var undefinedHint: String { if case let .undefined(h) = self { return h }; return "" }
    public var isNone: Bool { if case .none = self { return true }; return false }
    public var stringValue: String? { if case let .string(s) = self { return s }; return nil }

    /// The items of a list or tuple.
    var sequenceItems: [Value]? {
        switch self {
        case let .array(a), let .tuple(a): return a
        default: return nil
        }
    }

    /// Python type name, for error messages.
    public var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .tuple: return "tuple"
        case let .iterator(it): return it.kind.rawValue
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .function: return "function"
        }
    }

    /// Python truthiness (`bool(x)`); Undefined is false.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case let .bool(b): return b
        case let .int(i): return i != 0
        case let .double(d): return d != 0
        case let .string(s): return !s.isEmpty
        case let .array(a), let .tuple(a): return !a.isEmpty
        case let .iterator(it): return !it.kind.isView || !it.items.isEmpty
        case let .dict(d): return !d.isEmpty
        case .namespace, .function: return true
        }
    }
}

/// The items behind a `Value.iterator`, computed eagerly, and the Python type they stand for.
public struct PyIterator: Sendable {
    public enum Kind: String, Sendable {
        case generator, listReverseIterator = "list_reverseiterator"
        case dictItems = "dict_items", dictKeys = "dict_keys", dictValues = "dict_values"
        /// Dict views have a length and print their items; generators do neither.
        var isView: Bool { self == .dictItems || self == .dictKeys || self == .dictValues }
    }
    public let items: [Value]
    public let kind: Kind
    /// The error a lazy Python generator would raise once iterated (`none | unique`).
    public var failure: ChatTemplateError?
}

/// The mutable object `namespace(...)` returns; `{% set ns.x = ... %}` writes through it.
public final class Namespace: @unchecked Sendable {
    public var attributes: ValueDict
    public init(_ attributes: ValueDict = ValueDict()) { self.attributes = attributes }
}

/// A callable value. `call` gets positional and keyword arguments (keywords in call order).
public final class Function: @unchecked Sendable {
    public typealias Body = (_ args: [Value], _ kwargs: [(String, Value)]) throws -> Value
    public let name: String
    let body: Body
    public init(_ name: String, _ body: @escaping Body) { self.name = name; self.body = body }
    public func call(_ args: [Value], _ kwargs: [(String, Value)] = []) throws -> Value {
        try body(args, kwargs)
    }
}

/// Hashable identity of a dict key with Python equality: strings compare by code point (not by
/// Swift's canonical equivalence), bools and integral floats equal the ints they equal in Python.
struct DictKey: Hashable {
    private enum Storage: Hashable { case string([UInt8]), int(Int), double(Double), none, other(String) }
    private let storage: Storage

    init(_ v: Value) {
        switch v {
        case let .string(s): storage = .string(Array(s.utf8))
        case let .int(i): storage = .int(i)
        case let .bool(b): storage = .int(b ? 1 : 0)
        case let .double(d):
            if let i = Int(exactly: d) { storage = .int(i) } else { storage = .double(d) }
        case .none: storage = .none
        default: storage = .other(v.pyRepr)
        }
    }
}

/// An insertion-ordered dictionary, like a Python 3.7+ dict.
public struct ValueDict: @unchecked Sendable, Sequence {
    public private(set) var keys: [Value] = []
    public private(set) var values: [Value] = []
    private var index: [DictKey: Int] = [:]

    public init() {}
    public init(_ pairs: [(String, Value)]) {
        for (k, v) in pairs { self[.string(k)] = v }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public subscript(key: Value) -> Value? {
        get { index[DictKey(key)].map { values[$0] } }
        set {
            let k = DictKey(key)
            if let i = index[k] {
                if let v = newValue { values[i] = v } else { remove(at: i) }
            } else if let v = newValue {
                index[k] = keys.count
                keys.append(key)
                values.append(v)
            }
        }
    }

    public subscript(key: String) -> Value? {
        get { self[.string(key)] }
        set { self[.string(key)] = newValue }
    }

    private mutating func remove(at i: Int) {
        keys.remove(at: i)
        values.remove(at: i)
        index = [:]
        for (j, k) in keys.enumerated() { index[DictKey(k)] = j }
    }

    public func makeIterator() -> Zip2Sequence<[Value], [Value]>.Iterator {
        zip(keys, values).makeIterator()
    }
}
