import Foundation
import StrataModel

/// One chat message: `role`, `content` (a string, or any JSON value such as a list of parts) and
/// any other keys (`reasoning_content`, `tool_calls`, ...) in their original order.
public struct ChatMessage: @unchecked Sendable {
    public var role: String
    public var content: Value
    public var extra: [(String, Value)]

    public init(role: String, content: String, extra: [(String, Value)] = []) {
        self.init(role: role, content: Value.string(content), extra: extra)
    }

    public init(role: String, content: Value, extra: [(String, Value)] = []) {
        self.role = role
        self.content = content
        self.extra = extra
    }

    /// A message from a JSON object such as `{"role": "user", "content": "hi"}`.
    public init(json: Value) throws {
        guard case let .dict(d) = json, case let .string(role)? = d["role"] else {
            throw ChatTemplateError.invalidInput("a chat message must be an object with a string \"role\"")
        }
        self.role = role
        self.content = d["content"] ?? .none
        self.extra = d.compactMap { k, v in
            guard case let .string(key) = k, key != "role", key != "content" else { return nil }
            return (key, v)
        }
    }

    /// The dict the template sees, normalized as transformers' `apply_chat_template` does: keys
    /// whose value is null are dropped, and reasoning given under `reasoning_content`, `thinking`
    /// or `reasoning` is copied to both `thinking` (first) and `reasoning_content`.
    var templateValue: Value {
        var d = ValueDict()
        d["role"] = .string(role)
        d["content"] = content
        for (k, v) in extra { d[k] = v }
        for k in d.keys where d[k]?.isNone == true { d[k] = nil }
        let reasoning = ["reasoning_content", "thinking", "reasoning"].lazy.compactMap { d[$0] }.first
        if let reasoning {
            var aliased = ValueDict()
            aliased["thinking"] = reasoning
            for (k, v) in d { aliased[k] = v }
            aliased["reasoning_content"] = reasoning
            d = aliased
        }
        return .dict(d)
    }
}

/// A model's chat template, rendered as transformers' `apply_chat_template(..., tokenize=False)`.
public struct ChatTemplate: @unchecked Sendable {
    /// The Jinja source.
    public let source: String
    /// Special-token strings the template sees (`bos_token`, `eos_token`, ...).
    public let specialTokens: [String: String]
    /// The "tool_use" template of a config with named templates: transformers renders with it
    /// instead of `source` whenever `tools` are given.
    public let toolUseSource: String?
    private let nodes: [Node]
    private let toolUseNodes: [Node]?

    /// The special-token names transformers passes to templates (`SPECIAL_TOKENS_ATTRIBUTES`).
    public static let specialTokenNames = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                                           "cls_token", "mask_token"]

    /// Parses `source`; unknown filters/tests and syntax errors throw here, not at render time.
    public init(source: String, specialTokens: [String: String] = [:], toolUseSource: String? = nil) throws {
        self.source = source
        self.specialTokens = specialTokens
        self.toolUseSource = toolUseSource
        self.nodes = try Parser.parse(source)
        try Validation.check(nodes)
        self.toolUseNodes = try toolUseSource.map { try Parser.parse($0) }
        if let toolUseNodes { try Validation.check(toolUseNodes) }
    }

    /// Renders `messages`. `extra` adds or overrides template variables (`tools`, `thinking`, ...).
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, extra: [String: Value] = [:]) throws -> String {
        var variables: [String: Value] = specialTokens.mapValues { .string($0) }
        variables["messages"] = .array(messages.map(\.templateValue))
        variables["tools"] = Value.none
        variables["documents"] = Value.none
        variables["add_generation_prompt"] = .bool(addGenerationPrompt)
        for (k, v) in extra { variables[k] = v }
        let globals = Scope(Builtins.globals(), parent: nil)
        let hasTools = !(variables["tools"]?.isNone ?? true)
        var out = ""
        _ = try Evaluator().render(hasTools ? toolUseNodes ?? nodes : nodes, Scope(variables, parent: globals), into: &out)
        return out
    }
}

extension ChatTemplate {
    /// Loads from an HF model directory (`tokenizer_config.json`, or `chat_template.jinja` beside it)
    /// or a `.gguf` file. `name` picks one of several named templates (default "default").
    public static func load(modelPath path: String, name: String = "default") throws -> ChatTemplate {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ChatTemplateError.invalidInput("no such model file or directory: \(path)")
        }
        if isDirectory.boolValue { return try load(directory: path, name: name) }
        let gguf: GGUFFile
        do { gguf = try GGUFFile(path: path) } catch {
            throw ChatTemplateError.invalidInput("cannot read \(path) as GGUF: \(error)")
        }
        return try load(gguf: gguf)
    }

    /// Loads from `tokenizer.chat_template` and the special tokens' ids of a GGUF file.
    public static func load(gguf: GGUFFile) throws -> ChatTemplate {
        guard let source = gguf.metadata["tokenizer.chat_template"]?.string else {
            throw ChatTemplateError.invalidInput("\(gguf.path) has no tokenizer.chat_template")
        }
        let tokens = gguf.metadata["tokenizer.ggml.tokens"]?.strings ?? []
        let ids = ["bos_token": "bos_token_id", "eos_token": "eos_token_id", "unk_token": "unknown_token_id",
                   "sep_token": "seperator_token_id", "pad_token": "padding_token_id", "cls_token": "cls_token_id",
                   "mask_token": "mask_token_id"]
        var special: [String: String] = [:]
        for (name, key) in ids {
            if let id = gguf.metadata["tokenizer.ggml." + key]?.int, id >= 0, id < tokens.count { special[name] = tokens[id] }
        }
        return try ChatTemplate(source: source, specialTokens: special)
    }

    static func load(directory: String, name: String) throws -> ChatTemplate {
        let configPath = directory + "/tokenizer_config.json"
        var config = ValueDict()
        if let data = FileManager.default.contents(atPath: configPath) {
            guard case let .dict(d) = try PyJSON.parse(String(decoding: data, as: UTF8.self)) else {
                throw ChatTemplateError.invalidInput("\(configPath) is not a JSON object")
            }
            config = d
        }
        var special: [String: String] = [:]
        for key in specialTokenNames {
            switch config[key] {
            case let .string(s)?: special[key] = s
            case let .dict(t)?: if case let .string(s)? = t["content"] { special[key] = s }
            default: break
            }
        }
        let jinjaPath = directory + "/chat_template.jinja"
        if let data = FileManager.default.contents(atPath: jinjaPath) {
            return try ChatTemplate(source: String(decoding: data, as: UTF8.self), specialTokens: special)
        }
        switch config["chat_template"] {
        case let .string(s)?:
            return try ChatTemplate(source: s, specialTokens: special)
        case let .array(named)?:
            var templates: [String: String] = [:]
            for case let .dict(t) in named {
                if case let .string(n)? = t["name"], case let .string(s)? = t["template"] { templates[n] = s }
            }
            guard let s = templates[name] else {
                throw ChatTemplateError.invalidInput("\(configPath) has no chat template named \"\(name)\"")
            }
            return try ChatTemplate(source: s, specialTokens: special, toolUseSource: name == "default" ? templates["tool_use"] : nil)
        default:
            throw ChatTemplateError.invalidInput("\(directory) has no chat template (tokenizer_config.json \"chat_template\" or chat_template.jinja)")
        }
    }
}
