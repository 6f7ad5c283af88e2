import Foundation
import StrataTransport
import Yams

extension ClusterConfig {
    static let topKeys = ["model", "coordinator", "workers", "context", "max_batch", "max_step_tokens", "precision", "api_keys",
                          "heartbeat", "drain_timeout", "security"]
    static let securityKeys = ["coordinator_key", "coordinator_secret_file"]
    static let heartbeatKeys = ["interval", "timeout"]
    static let coordinatorKeys = ["http", "control"]
    static let workerKeys = ["name", "endpoint", "memory", "speed", "threads", "key", "secret_file"]

    /// Reads and validates a cluster.yaml file; the model path resolves against its directory.
    public static func load(path: String, homeDirectory: String) throws -> ClusterConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ClusterError.unreadable(path: path, reason: error.localizedDescription)
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try ClusterConfig(yaml: text, baseDirectory: base, homeDirectory: homeDirectory)
    }

    /// Parses and validates cluster.yaml text. Errors name the key path and line.
    public init(yaml: String, baseDirectory: String, homeDirectory: String) throws {
        let root = try YAMLMapping(try Self.compose(yaml), keyPath: "", line: 1)
        try root.rejectUnknownKeys(allowed: Self.topKeys)
        model = try root.string(try root.required("model")).text
        modelPath = Self.resolve(modelPath: model, baseDirectory: baseDirectory, homeDirectory: homeDirectory)
        coordinator = try Self.coordinator(root)
        workers = try Self.workers(root, control: coordinator.control)
        context = try root.entry("context").map(root.positiveInt) ?? Self.defaultContext
        maxBatch = try root.entry("max_batch").map(root.positiveInt) ?? Self.defaultMaxBatch
        maxStepTokens = try root.entry("max_step_tokens").map(root.positiveInt)
        if let m = maxStepTokens, m < maxBatch, let e = root.entry("max_step_tokens") {
            throw ClusterError.invalidValue(key: "max_step_tokens", line: e.line, value: "\(m)",
                                            reason: "must be at least max_batch (\(maxBatch)): every running sequence's token goes in each step")
        }
        drainTimeout = try Self.duration(root, "drain_timeout") ?? 30
        precision = try Self.precision(root)
        apiKeys = try Self.apiKeys(root)
        heartbeat = try Self.heartbeat(root)
        security = try Self.security(root, baseDirectory: baseDirectory, homeDirectory: homeDirectory)
        if security != nil, let w = workers.first(where: { $0.key == nil }) {
            throw ClusterError.missingKey(key: "workers[\(workers.firstIndex { $0.name == w.name }!)].key", line: w.line)
        }
        for i in workers.indices { workers[i].secretFile = workers[i].secretFile.map { Self.resolve(modelPath: $0, baseDirectory: baseDirectory, homeDirectory: homeDirectory) } }
    }

    private static func security(_ root: YAMLMapping, baseDirectory: String, homeDirectory: String) throws -> Security? {
        guard let e = root.entry("security") else { return nil }
        let m = try YAMLMapping(e.value, keyPath: "security", line: e.line)
        try m.rejectUnknownKeys(allowed: securityKeys)
        let k = try m.string(try m.required("coordinator_key"))
        guard let key = Z85.decodeKey(k.text) else {
            throw ClusterError.invalidValue(key: "security.coordinator_key", line: k.line, value: k.text,
                                            reason: "is not a CURVE public key (40 Z85 characters, from `strata keys generate`)")
        }
        let file = try m.entry("coordinator_secret_file").map { try m.string($0).text }
        return Security(coordinatorKey: key, coordinatorSecretFile: file.map { resolve(modelPath: $0, baseDirectory: baseDirectory, homeDirectory: homeDirectory) })
    }

    private static func compose(_ yaml: String) throws -> Node {
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ClusterError.yamlSyntax(line: 1, reason: "the document is empty; expected a mapping with model, coordinator and workers")
            }
            return node
        } catch let e as YamlError {
            switch e {
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                throw ClusterError.yamlSyntax(line: mark.line, reason: problem)
            default:
                throw ClusterError.yamlSyntax(line: nil, reason: "\(e)")
            }
        }
    }

    private static func coordinator(_ root: YAMLMapping) throws -> Coordinator {
        let e = try root.required("coordinator")
        let m = try YAMLMapping(e.value, keyPath: "coordinator", line: e.line)
        try m.rejectUnknownKeys(allowed: coordinatorKeys)
        let http = try m.string(try m.required("http"))
        if let problem = EndpointSyntax.hostPortProblem(http.text) {
            throw ClusterError.invalidValue(key: "coordinator.http", line: http.line, value: http.text, reason: problem)
        }
        let control = try m.string(try m.required("control"))
        if let problem = EndpointSyntax.zeroMQProblem(control.text) {
            throw ClusterError.invalidValue(key: "coordinator.control", line: control.line, value: control.text, reason: problem)
        }
        return Coordinator(http: http.text, control: control.text)
    }

    private static func workers(_ root: YAMLMapping, control: String) throws -> [Worker] {
        let e = try root.required("workers")
        let items = try root.sequence(e)
        guard !items.isEmpty else {
            throw ClusterError.invalidValue(key: "workers", line: e.line, value: "[]", reason: "needs at least one worker")
        }
        var workers: [Worker] = []
        var names: [String: Int] = [:], endpoints: [String: Int] = [:]
        for (i, node) in items.enumerated() {
            let m = try YAMLMapping(node, keyPath: "workers[\(i)]", line: e.line)
            let w = try worker(m)
            let nameLine = try m.string(try m.required("name")).line
            let endpointLine = try m.string(try m.required("endpoint")).line
            if let first = names[w.name] {
                throw ClusterError.duplicateValue(key: m.path("name"), line: nameLine, value: w.name, firstLine: first)
            }
            if w.endpoint == control {
                throw ClusterError.invalidValue(key: m.path("endpoint"), line: endpointLine, value: w.endpoint,
                                                reason: "is the coordinator's control endpoint")
            }
            if let first = endpoints[w.endpoint] {
                throw ClusterError.duplicateValue(key: m.path("endpoint"), line: endpointLine, value: w.endpoint, firstLine: first)
            }
            names[w.name] = nameLine
            endpoints[w.endpoint] = endpointLine
            workers.append(w)
        }
        return workers
    }

    private static func worker(_ m: YAMLMapping) throws -> Worker {
        try m.rejectUnknownKeys(allowed: workerKeys)
        let name = try m.string(try m.required("name")).text
        let endpoint = try m.string(try m.required("endpoint"))
        if let problem = EndpointSyntax.zeroMQProblem(endpoint.text) {
            throw ClusterError.invalidValue(key: m.path("endpoint"), line: endpoint.line, value: endpoint.text, reason: problem)
        }
        let memoryEntry = try m.required("memory")
        let memory = try m.scalar(memoryEntry, expected: "a byte size such as 2GiB")
        guard let bytes = ByteSize.parse(memory.text) else {
            throw ClusterError.invalidValue(key: m.path("memory"), line: memory.line, value: memory.text,
                                            reason: "is not a byte size (e.g. 2GiB, 512MiB, 32GB, 1073741824)")
        }
        let speed = try m.entry("speed").map(m.positiveNumber) ?? 1
        let threads = try m.entry("threads").map(m.positiveInt)
        var w = Worker(name: name, endpoint: endpoint.text, memoryBytes: bytes, speed: speed, threads: threads, line: m.line)
        if let e = m.entry("key") {
            let k = try m.string(e)
            guard let key = Z85.decodeKey(k.text) else {
                throw ClusterError.invalidValue(key: m.path("key"), line: k.line, value: k.text,
                                                reason: "is not a CURVE public key (40 Z85 characters, from `strata keys generate`)")
            }
            w.key = key
        }
        w.secretFile = try m.entry("secret_file").map { try m.string($0).text }
        return w
    }

    private static func heartbeat(_ root: YAMLMapping) throws -> Heartbeat {
        guard let e = root.entry("heartbeat") else { return Heartbeat() }
        let m = try YAMLMapping(e.value, keyPath: "heartbeat", line: e.line)
        try m.rejectUnknownKeys(allowed: heartbeatKeys)
        var h = Heartbeat()
        for key in heartbeatKeys {
            guard let entry = m.entry(key) else { continue }
            let (text, line) = try m.scalar(entry, expected: "a duration such as 1s or 500ms")
            guard let seconds = Heartbeat.parseDuration(text), seconds > 0 else {
                throw ClusterError.invalidValue(key: m.path(key), line: line, value: text,
                                                reason: "is not a positive duration (e.g. 1s, 500ms, 2.5s)")
            }
            if key == "interval" { h.interval = seconds } else { h.timeout = seconds }
        }
        guard h.timeout >= 2 * h.interval else {
            throw ClusterError.invalidValue(key: "heartbeat.timeout", line: e.line, value: "\(h.timeout)s",
                                            reason: "must be at least twice heartbeat.interval (\(h.interval)s), or one late beat loses a worker")
        }
        return h
    }

    /// A positive duration at `key` ("30s", "500ms", "2m" or seconds), nil when absent.
    private static func duration(_ m: YAMLMapping, _ key: String) throws -> Double? {
        guard let entry = m.entry(key) else { return nil }
        let (text, line) = try m.scalar(entry, expected: "a duration such as 30s")
        guard let seconds = Heartbeat.parseDuration(text), seconds > 0 else {
            throw ClusterError.invalidValue(key: m.path(key), line: line, value: text, reason: "is not a positive duration (e.g. 30s, 500ms, 2m)")
        }
        return seconds
    }

    private static func precision(_ root: YAMLMapping) throws -> Precision {
        guard let e = root.entry("precision") else { return .fp8 }
        let (text, line) = try root.string(e)
        guard let p = Precision(rawValue: text) else {
            throw ClusterError.invalidValue(key: "precision", line: line, value: text, reason: "must be fp8 or f32")
        }
        return p
    }

    private static func apiKeys(_ root: YAMLMapping) throws -> [String] {
        guard let e = root.entry("api_keys") else { return [] }
        return try root.sequence(e).enumerated().map { i, node in
            try root.string(.init(key: "api_keys[\(i)]", line: node.line(or: e.line), value: node)).text
        }
    }
}
