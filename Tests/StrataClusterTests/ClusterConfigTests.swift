import Foundation
import StrataCluster
import Testing

/// cluster.yaml parsing: defaults, path resolution, and one test per kind of error, each checking
/// that the error names the key and the line.
struct ClusterConfigTests {
    static let valid = """
        model: models/deepseek-67b
        coordinator:
          http: 127.0.0.1:8080
          control: tcp://127.0.0.1:5550
        workers:
          - name: a
            endpoint: tcp://10.0.0.1:5551
            memory: 32GiB
          - name: b
            endpoint: tcp://10.0.0.2:5551
            memory: 512MiB
            speed: 1.5
            threads: 8
        """

    static func parse(_ yaml: String) throws -> ClusterConfig {
        try ClusterConfig(yaml: yaml, baseDirectory: "/etc/strata", homeDirectory: "/home/u")
    }

    func expectError(_ yaml: String, _ expected: ClusterError, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: expected, sourceLocation: sourceLocation) { try Self.parse(yaml) }
    }

    @Test func validFileWithDefaults() throws {
        let c = try Self.parse(Self.valid)
        #expect(c.modelPath == "/etc/strata/models/deepseek-67b")
        #expect(c.coordinator == .init(http: "127.0.0.1:8080", control: "tcp://127.0.0.1:5550"))
        #expect(c.workers.map(\.name) == ["a", "b"])
        #expect(c.workers.map(\.memoryBytes) == [32 << 30, 512 << 20])
        #expect(c.workers.map(\.speed) == [1, 1.5] && c.workers.map(\.threads) == [nil, 8])
        #expect(c.context == 4096 && c.maxBatch == 8 && c.precision == .fp8 && c.apiKeys.isEmpty)
    }

    @Test func optionalKeys() throws {
        let c = try Self.parse(Self.valid + "\ncontext: 2048\nmax_batch: 4\nprecision: f32\napi_keys: [k1, k2]\n")
        #expect(c.context == 2048 && c.maxBatch == 4 && c.precision == .f32 && c.apiKeys == ["k1", "k2"])
    }

    @Test func stepBudgetAndDrainTimeout() throws {
        let d = try Self.parse(Self.valid)
        #expect(d.maxStepTokens == nil && d.drainTimeout == 30)
        let c = try Self.parse(Self.valid + "\nmax_batch: 4\nmax_step_tokens: 64\ndrain_timeout: 2m\n")
        #expect(c.maxStepTokens == 64 && c.drainTimeout == 120)
        expectError(Self.valid + "\nmax_step_tokens: 4\n",
                    .invalidValue(key: "max_step_tokens", line: 14, value: "4",
                                  reason: "must be at least max_batch (8): every running sequence's token goes in each step"))
        expectError(Self.valid + "\ndrain_timeout: soon\n",
                    .invalidValue(key: "drain_timeout", line: 14, value: "soon", reason: "is not a positive duration (e.g. 30s, 500ms, 2m)"))
        #expect(throws: ClusterError.self) { try Self.parse(Self.valid + "\nmax_step_tokens: 0\n") }
        var edited = c
        edited.maxStepTokens = 128
        edited.drainTimeout = 5
        #expect(ConfigChange.restartKeys(from: c, to: edited) == ["max_step_tokens", "drain_timeout"])
    }

    @Test(arguments: [("~/m.gguf", "/home/u/m.gguf"), ("~", "/home/u"), ("/abs/m.gguf", "/abs/m.gguf"),
                      ("m.gguf", "/etc/strata/m.gguf"), ("../m", "/etc/m"), (".", "/etc/strata"),
                      ("./a//b/../m.gguf", "/etc/strata/a/m.gguf"), ("/../x", "/x")])
    func modelPathResolution(written: String, resolved: String) {
        #expect(ClusterConfig.resolve(modelPath: written, baseDirectory: "/etc/strata", homeDirectory: "/home/u") == resolved)
    }

    @Test func repoDefaultClusterYAML() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("cluster.yaml").path
        let c = try ClusterConfig.load(path: path, homeDirectory: "/home/u")
        #expect(c.modelPath == "/home/u/.cache/strata/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        #expect(c.coordinator == .init(http: "127.0.0.1:8080", control: "tcp://127.0.0.1:5550"))
        #expect(c.workers.map(\.name) == ["w0", "w1", "w2"])
        #expect(c.workers.map(\.endpoint) == (5551...5553).map { "tcp://127.0.0.1:\($0)" })
        #expect(c.workers.allSatisfy { $0.memoryBytes == 2 << 30 })
        #expect(c.heartbeat == .init(interval: 1, timeout: 10))
    }

    @Test func security() throws {
        let k = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"   // a valid Z85 public key (40 characters)
        let workerKeys = Self.valid.replacingOccurrences(of: "    memory: 32GiB\n", with: "    memory: 32GiB\n    key: \(k)\n")
            .replacingOccurrences(of: "    memory: 512MiB\n", with: "    memory: 512MiB\n    key: \(k)\n    secret_file: keys/w1.key\n")
        let c = try ClusterConfig(yaml: workerKeys + "\nsecurity:\n  coordinator_key: \(k)\n  coordinator_secret_file: c.key\n",
                                  baseDirectory: "/etc/strata", homeDirectory: "/home/u")
        #expect(c.security?.coordinatorKey.count == 32 && c.security?.coordinatorSecretFile == "/etc/strata/c.key")
        #expect(c.workers.allSatisfy { $0.key?.count == 32 } && c.workers[1].secretFile == "/etc/strata/keys/w1.key")
        expectError(Self.valid + "\nsecurity:\n  coordinator_key: short\n",
                    .invalidValue(key: "security.coordinator_key", line: 15, value: "short",
                                  reason: "is not a CURVE public key (40 Z85 characters, from `strata keys generate`)"))
        // With security, every worker must list its key.
        expectError(Self.valid + "\nsecurity:\n  coordinator_key: \(k)\n", .missingKey(key: "workers[0].key", line: 6))
    }

    /// What an edited cluster.yaml changes about the workers (live re-sharding's input).
    @Test func configChange() throws {
        let old = try Self.parse(Self.valid)
        var new = old
        #expect(ConfigChange(from: old, to: new).isEmpty)
        new.workers.append(.init(name: "c", endpoint: "tcp://10.0.0.3:5551", memoryBytes: 1 << 30))
        new.workers.removeAll { $0.name == "a" }
        new.workers[0].memoryBytes *= 2   // b
        let change = ConfigChange(from: old, to: new)
        #expect(change.added == ["c"] && change.removed == ["a"] && change.changed == ["b"])
        var keyed = old
        keyed.workers[1].key = [UInt8](repeating: 7, count: 32)
        #expect(ConfigChange(from: old, to: keyed).changed == ["b"], "a new key is a change")
    }

    @Test func heartbeat() throws {
        let c = try ClusterConfig(yaml: Self.valid + "\nheartbeat:\n  interval: 250ms\n  timeout: 2.5s\n", baseDirectory: "/", homeDirectory: "/")
        #expect(c.heartbeat == .init(interval: 0.25, timeout: 2.5))
        let d = try ClusterConfig(yaml: Self.valid, baseDirectory: "/", homeDirectory: "/")
        #expect(d.heartbeat == .init(interval: 1, timeout: 10))
        expectError(Self.valid + "\nheartbeat:\n  interval: soon\n",
                    .invalidValue(key: "heartbeat.interval", line: 15, value: "soon", reason: "is not a positive duration (e.g. 1s, 500ms, 2.5s)"))
        expectError(Self.valid + "\nheartbeat:\n  timeout: -2s\n",
                    .invalidValue(key: "heartbeat.timeout", line: 15, value: "-2s", reason: "is not a positive duration (e.g. 1s, 500ms, 2.5s)"))
        expectError(Self.valid + "\nheartbeat:\n  interval: 2s\n  timeout: 3s\n",
                    .invalidValue(key: "heartbeat.timeout", line: 14, value: "3.0s",
                                  reason: "must be at least twice heartbeat.interval (2.0s), or one late beat loses a worker"))
        expectError(Self.valid + "\nheartbeat:\n  every: 2s\n",
                    .unknownKey(key: "heartbeat.every", line: 15, allowed: ["interval", "timeout"]))
    }

    @Test func badYAML() {
        expectError("model: [unclosed\ncoordinator:\n", .yamlSyntax(line: 2, reason: "did not find expected ',' or ']'"))
        expectError("", .yamlSyntax(line: 1, reason: "the document is empty; expected a mapping with model, coordinator and workers"))
        expectError("- just\n- a list\n", .wrongType(key: "(document)", line: 1, expected: "a mapping"))
    }

    @Test func wrongTypes() {
        expectError(Self.valid.replacingOccurrences(of: "memory: 32GiB", with: "memory: [32GiB]"),
                    .wrongType(key: "workers[0].memory", line: 8, expected: "a byte size such as 2GiB"))
        expectError(Self.valid + "\ncontext: many\n", .wrongType(key: "context", line: 14, expected: "an integer"))
        expectError(Self.valid + "\nmax_batch: 2.5\n", .wrongType(key: "max_batch", line: 14, expected: "an integer"))
        expectError(Self.valid.replacingOccurrences(of: "speed: 1.5", with: "speed: fast"),
                    .wrongType(key: "workers[1].speed", line: 12, expected: "a number"))
        expectError("model: m\ncoordinator: tcp://x:1\nworkers: []\n", .wrongType(key: "coordinator", line: 2, expected: "a mapping"))
        expectError(Self.valid.replacingOccurrences(of: "model: models/deepseek-67b", with: "model:"),
                    .wrongType(key: "model", line: 1, expected: "a string"))
    }

    @Test func unknownKeys() {
        expectError(Self.valid.replacingOccurrences(of: "model:", with: "modle:"),
                    .unknownKey(key: "modle", line: 1, allowed: ["model", "coordinator", "workers", "context", "max_batch", "max_step_tokens",
                                                                 "precision", "api_keys", "heartbeat", "drain_timeout", "security"]))
        expectError(Self.valid.replacingOccurrences(of: "threads: 8", with: "thread: 8"),
                    .unknownKey(key: "workers[1].thread", line: 13, allowed: ["name", "endpoint", "memory", "speed", "threads", "key", "secret_file"]))
        expectError(Self.valid.replacingOccurrences(of: "  http:", with: "  htp:"),
                    .unknownKey(key: "coordinator.htp", line: 3, allowed: ["http", "control"]))
    }

    @Test func missingKeys() {
        expectError(Self.valid.replacingOccurrences(of: "model: models/deepseek-67b\n", with: ""), .missingKey(key: "model", line: 1))
        expectError(Self.valid.replacingOccurrences(of: "    memory: 512MiB\n", with: ""), .missingKey(key: "workers[1].memory", line: 9))
        expectError(Self.valid.replacingOccurrences(of: "  control: tcp://127.0.0.1:5550\n", with: ""), .missingKey(key: "coordinator.control", line: 3))
    }

    @Test(arguments: ["2GiX", "lots", "-1GiB", "0", "1.2.3GB", "2G"])
    func badMemoryString(memory: String) {
        expectError(Self.valid.replacingOccurrences(of: "memory: 512MiB", with: "memory: \(memory)"),
                    .invalidValue(key: "workers[1].memory", line: 11, value: memory,
                                  reason: "is not a byte size (e.g. 2GiB, 512MiB, 32GB, 1073741824)"))
    }

    @Test func duplicates() {
        expectError(Self.valid.replacingOccurrences(of: "name: b", with: "name: a"),
                    .duplicateValue(key: "workers[1].name", line: 9, value: "a", firstLine: 6))
        expectError(Self.valid.replacingOccurrences(of: "10.0.0.2", with: "10.0.0.1"),
                    .duplicateValue(key: "workers[1].endpoint", line: 10, value: "tcp://10.0.0.1:5551", firstLine: 7))
        expectError(Self.valid + "\nmodel: again\n", .duplicateValue(key: "model", line: 14, value: "model", firstLine: 1))
    }

    @Test func invalidValues() {
        expectError(Self.valid.replacingOccurrences(of: "tcp://10.0.0.2:5551", with: "10.0.0.2:5551"),
                    .invalidValue(key: "workers[1].endpoint", line: 10, value: "10.0.0.2:5551", reason: "must start with tcp://, ipc:// or inproc://"))
        expectError(Self.valid.replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:99999"),
                    .invalidValue(key: "coordinator.http", line: 3, value: "127.0.0.1:99999", reason: "needs a port in 1...65535"))
        expectError(Self.valid.replacingOccurrences(of: "tcp://10.0.0.1:5551", with: "tcp://127.0.0.1:5550"),
                    .invalidValue(key: "workers[0].endpoint", line: 7, value: "tcp://127.0.0.1:5550", reason: "is the coordinator's control endpoint"))
        expectError(Self.valid.replacingOccurrences(of: "speed: 1.5", with: "speed: 0"),
                    .invalidValue(key: "workers[1].speed", line: 12, value: "0", reason: "must be a positive number"))
        expectError(Self.valid + "\nprecision: fp16\n", .invalidValue(key: "precision", line: 14, value: "fp16", reason: "must be fp8 or f32"))
        expectError(Self.valid + "\ncontext: 0\n", .invalidValue(key: "context", line: 14, value: "0", reason: "must be positive"))
    }

    @Test func errorDescriptionsNameKeyAndLine() {
        let e = ClusterError.invalidValue(key: "workers[1].memory", line: 11, value: "2GiX", reason: "is not a byte size")
        #expect(e.description == "line 11: 'workers[1].memory' = '2GiX' is not a byte size")
    }

    @Test(arguments: [("2GiB", 2 << 30), ("512MiB", 512 << 20), ("32GB", 32_000_000_000), ("1.5GiB", 3 << 29),
                      ("1073741824", 1 << 30), ("64 KiB", 65536), ("100B", 100), ("2gib", 2 << 30), ("1TiB", 1 << 40)])
    func byteSizes(text: String, bytes: Int) {
        #expect(ByteSize.parse(text) == bytes)
    }
}
