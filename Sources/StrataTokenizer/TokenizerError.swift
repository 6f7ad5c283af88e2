/// Every failure the tokenizer can report. Loading never traps on bad input: a malformed or
/// unsupported `tokenizer.json` / GGUF vocabulary becomes one of these cases.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read (path, reason).
    case unreadable(path: String, reason: String)
    /// The text is not valid JSON (byte offset, what was wrong).
    case invalidJSON(offset: Int, reason: String)
    /// A required key is missing or has the wrong type (key path such as `model.merges[3]`, expectation).
    case malformed(keyPath: String, expected: String)
    /// A component type this implementation does not support (key path, type name).
    case unsupportedComponent(keyPath: String, type: String)
    /// A regex uses syntax outside the supported subset (pattern, the construct).
    case unsupportedRegex(pattern: String, construct: String)
    /// A regex is syntactically invalid (pattern, reason).
    case invalidRegex(pattern: String, reason: String)
    /// A token referenced by merges, added tokens or a post-processor is not in the vocabulary.
    case unknownToken(keyPath: String, token: String)
    /// A GGUF file lacks tokenizer metadata or uses an unsupported tokenizer (key, reason).
    case gguf(key: String, reason: String)
    /// Input handed to the tokenizer (ids to decode, CLI lines) is invalid.
    case invalidInput(String)

    /// A one-line message naming the file, key path or construct at fault.
    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .invalidJSON(offset, reason): return "invalid JSON at byte \(offset): \(reason)"
        case let .malformed(keyPath, expected): return "malformed tokenizer: \(keyPath): expected \(expected)"
        case let .unsupportedComponent(keyPath, type): return "unsupported \(keyPath) type '\(type)'"
        case let .unsupportedRegex(pattern, construct):
            return "unsupported regex construct \(construct) in pattern \(pattern.debugDescription)"
        case let .invalidRegex(pattern, reason): return "invalid regex \(pattern.debugDescription): \(reason)"
        case let .unknownToken(keyPath, token): return "\(keyPath): token \(token.debugDescription) is not in the vocabulary"
        case let .gguf(key, reason): return "GGUF tokenizer: \(key): \(reason)"
        case let .invalidInput(reason): return "invalid input: \(reason)"
        }
    }
}
