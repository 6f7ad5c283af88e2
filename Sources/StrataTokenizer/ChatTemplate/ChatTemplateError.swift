/// Everything that can go wrong loading or rendering a chat template. `line` is the template line
/// (1-based; 0 when unknown).
public enum ChatTemplateError: Error, Equatable, CustomStringConvertible {
    /// The template text does not parse (unterminated tag, unexpected token, ...).
    case syntax(String, line: Int)
    /// A valid Jinja construct this interpreter does not implement (tag, filter, test, method).
    case unsupported(String, line: Int)
    /// An operation on an undefined value that Jinja also rejects (`x.y` with `x` undefined).
    case undefined(String, line: Int)
    /// A Python TypeError/ValueError equivalent (`'a' + 1`, bad argument, unorderable types).
    case type(String, line: Int)
    /// The template called `raise_exception(message)`.
    case raised(String, line: Int)
    /// No chat template, or an unreadable model directory / config / messages file.
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .syntax(m, l): return "template syntax error at line \(l): \(m)"
        case let .unsupported(m, l): return "unsupported template construct at line \(l): \(m)"
        case let .undefined(m, l): return "undefined value at line \(l): \(m)"
        case let .type(m, l): return "template type error at line \(l): \(m)"
        case let .raised(m, l): return "template raised an exception at line \(l): \(m)"
        case let .invalidInput(m): return m
        }
    }

    /// The same error with `line` filled in where it was unknown.
    func at(line: Int) -> ChatTemplateError {
        switch self {
        case let .syntax(m, 0): return .syntax(m, line: line)
        case let .unsupported(m, 0): return .unsupported(m, line: line)
        case let .undefined(m, 0): return .undefined(m, line: line)
        case let .type(m, 0): return .type(m, line: line)
        case let .raised(m, 0): return .raised(m, line: line)
        default: return self
        }
    }
}
