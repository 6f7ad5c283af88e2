/// A cluster as `cluster.yaml` describes it: the model, the coordinator's addresses and the workers,
/// validated once when read (`ClusterConfig(yaml:...)`, `ClusterConfig.load(path:...)`).
///
/// ```yaml
/// model: ~/.cache/strata/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
/// coordinator:
///   http: 127.0.0.1:8080            # OpenAI API and /health
///   control: tcp://127.0.0.1:5550   # control socket workers talk to
/// workers:                          # pipeline order: the first holds the embedding, the last the head
///   - name: w0
///     endpoint: tcp://127.0.0.1:5551
///     memory: 1GiB                  # budget for weights + KV cache + workspace on that box
///     speed: 1.0                    # optional, relative compute speed (default 1)
///     threads: 2                    # optional, compute threads
/// context: 4096                     # optional, max tokens per sequence
/// max_batch: 8                      # optional, max concurrent sequences
/// max_step_tokens: 256              # optional, most tokens one step carries (chunked prefill;
///                                   #   default from the model's size, ≥ max_batch)
/// drain_timeout: 30s                # optional, how long SIGTERM lets running requests finish
/// precision: fp8                    # optional, fp8 | f32
/// api_keys: [...]                   # optional, for the HTTP API
/// ```
///
/// `model` path resolution: `~` or `~/…` expands to the home directory of the process that reads
/// the file; a relative path is relative to the directory containing cluster.yaml; an absolute path
/// is used as written. Workers are sent the resolved path, so every box must have the model there.
public struct ClusterConfig: Sendable, Equatable {
    /// Weight precision of the decoder layers.
    public enum Precision: String, Sendable, CaseIterable { case fp8, f32 }

    /// Where the coordinator listens.
    public struct Coordinator: Sendable, Equatable {
        /// HOST:PORT of the OpenAI-compatible HTTP API.
        public var http: String
        /// ZeroMQ endpoint of the control socket.
        public var control: String

        public init(http: String, control: String) {
            self.http = http
            self.control = control
        }
    }

    /// One worker box, in pipeline order.
    public struct Worker: Sendable, Equatable {
        public var name: String
        /// ZeroMQ endpoint the worker listens on (`strata worker --listen`).
        public var endpoint: String
        /// Memory budget for weights, KV cache and workspace.
        public var memoryBytes: Int
        /// Relative compute speed; layers are shared in proportion to memory × speed.
        public var speed: Double
        /// Compute threads, when fixed.
        public var threads: Int?
        /// Line of the worker's entry in cluster.yaml, for messages.
        public var line: Int
        /// CURVE public key (with `security:`).
        public var key: [UInt8]?
        /// Its key file, for `strata up` to start it with (resolved path).
        public var secretFile: String?

        public init(name: String, endpoint: String, memoryBytes: Int, speed: Double = 1, threads: Int? = nil, line: Int = 0) {
            self.name = name
            self.endpoint = endpoint
            self.memoryBytes = memoryBytes
            self.speed = speed
            self.threads = threads
            self.line = line
        }
    }

    public static let defaultContext = 4096
    public static let defaultMaxBatch = 8

    /// The model path as written in the file.
    public var model: String
    /// The model path resolved as documented above.
    public var modelPath: String
    public var coordinator: Coordinator
    public var workers: [Worker]
    /// Max tokens per sequence (prompt + completion); KV memory is reserved for it.
    public var context: Int
    /// Max concurrent sequences; KV memory is reserved for all of them.
    public var maxBatch: Int
    /// Most rows (tokens) one step carries: prompts longer than what is left are prefilled over
    /// several steps. nil: `StepBudget.defaultTokens` for the model.
    public var maxStepTokens: Int?
    /// Seconds SIGTERM waits for running requests before failing the rest and exiting.
    public var drainTimeout: Double = 30
    public var precision: Precision
    /// Keys the HTTP API accepts; empty = no authentication.
    public var apiKeys: [String]
    /// Membership: how often the coordinator beats, how long a silent worker lives.
    public var heartbeat = Heartbeat()
    /// CURVE on every coordinator↔worker and worker↔worker link, when set.
    public var security: Security?

    /// `security:` — the coordinator's public key and key file; each worker lists its `key`.
    public struct Security: Sendable, Equatable {
        public var coordinatorKey: [UInt8]
        /// The coordinator's key file (resolved path).
        public var coordinatorSecretFile: String?
        public init(coordinatorKey: [UInt8], coordinatorSecretFile: String? = nil) {
            self.coordinatorKey = coordinatorKey; self.coordinatorSecretFile = coordinatorSecretFile
        }
    }

    /// `heartbeat:` — seconds between beats, and of silence before a worker is declared lost.
    public struct Heartbeat: Sendable, Equatable {
        public var interval: Double = 1
        public var timeout: Double = 10
        public init(interval: Double = 1, timeout: Double = 10) { self.interval = interval; self.timeout = timeout }

        /// "1s", "500ms", "2.5s", "2m" or a plain number of seconds.
        static func parseDuration(_ text: String) -> Double? {
            let t = text.trimmingCharacters(in: .whitespaces)
            for (suffix, scale) in [("ms", 0.001), ("s", 1.0), ("m", 60.0)] where t.hasSuffix(suffix) {
                return Double(t.dropLast(suffix.count)).map { $0 * scale }
            }
            return Double(t)
        }
    }

    /// Builds a config in code (tests, generated clusters). Unlike the YAML reader it checks
    /// nothing: the planner and transport still reject what they cannot use.
    public init(model: String, modelPath: String? = nil, coordinator: Coordinator, workers: [Worker],
                context: Int = defaultContext, maxBatch: Int = defaultMaxBatch, precision: Precision = .fp8, apiKeys: [String] = []) {
        self.model = model
        self.modelPath = modelPath ?? model
        self.coordinator = coordinator
        self.workers = workers
        self.context = context
        self.maxBatch = maxBatch
        self.maxStepTokens = nil
        self.precision = precision
        self.apiKeys = apiKeys
    }

    /// Resolves a model path: `~` → `homeDirectory`, relative → under `baseDirectory`; then removes
    /// `.` and `..` components lexically (symbolic links are left alone).
    public static func resolve(modelPath path: String, baseDirectory: String, homeDirectory: String) -> String {
        let joined: String
        if path == "~" { joined = homeDirectory } else if path.hasPrefix("~/") {
            joined = homeDirectory + "/" + path.dropFirst(2)
        } else if path.hasPrefix("/") { joined = path } else { joined = baseDirectory + "/" + path }
        return normalize(joined)
    }

    /// Lexical normalization of a path: drops empty and `.` components, applies `..`.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for c in path.split(separator: "/", omittingEmptySubsequences: true) {
            if c == "." { continue }
            if c == ".." {
                if let last = parts.last, last != ".." { parts.removeLast() } else if !path.hasPrefix("/") { parts.append(c) }
                continue
            }
            parts.append(c)
        }
        let body = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + body : (body.isEmpty ? "." : body)
    }
}
