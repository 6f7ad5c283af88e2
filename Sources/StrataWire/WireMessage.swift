/// A decoded Strata message: the header's body and the raw tensors that followed it.
public struct WireMessage: Sendable {
    /// The header's body (`Strata_V1_Envelope.body`): Hello, Batch, Results, ...
    public var body: Strata_V1_Envelope.OneOf_Body
    /// Raw tensor frames, in frame order.
    public var tensors: [WireTensor]

    public init(_ body: Strata_V1_Envelope.OneOf_Body, tensors: [WireTensor] = []) {
        self.body = body
        self.tensors = tensors
    }

    /// The message's name for logs ("hello", "batch", ...).
    public var kind: String { Self.kind(of: body) }

    /// The name of a body for logs.
    public static func kind(of body: Strata_V1_Envelope.OneOf_Body) -> String {
        switch body {
        case .hello: return "hello"
        case .helloReply: return "hello_reply"
        case .assign: return "assign"
        case .assignReply: return "assign_reply"
        case .heartbeat: return "heartbeat"
        case .drain: return "drain"
        case .shutdown: return "shutdown"
        case .error: return "error"
        case .join: return "join"
        case .batch: return "batch"
        case .results: return "results"
        case .migrateKv: return "migrate_kv"
        case .kvBlocks: return "kv_blocks"
        }
    }
}

/// Size limits the decoder enforces before trusting a peer's frames.
public struct WireLimits: Sendable, Equatable {
    /// Largest header frame accepted.
    public var maxHeaderBytes: Int
    /// Largest raw tensor frame accepted.
    public var maxFrameBytes: Int
    /// Most tensor frames per message.
    public var maxTensors: Int
    /// Most dimensions per tensor.
    public var maxRank: Int

    public init(maxHeaderBytes: Int = 16 << 20, maxFrameBytes: Int = 1 << 30, maxTensors: Int = 64, maxRank: Int = 8) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxFrameBytes = maxFrameBytes
        self.maxTensors = maxTensors
        self.maxRank = maxRank
    }

    /// The defaults: 16 MiB headers, 1 GiB frames, 64 tensors of rank ≤ 8.
    public static let standard = WireLimits()
}
