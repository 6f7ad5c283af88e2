import Foundation
import StrataWire
import Testing

/// Round trips and one test per malformed-input case of `WireCodec.decode`.
struct WireCodecTests {
    let codec = WireCodec()

    static func hello() -> WireMessage {
        var h = Strata_V1_Hello()
        h.protocolVersion = WireProtocol.version
        h.workerName = "w0"
        h.capabilities.memoryBytes = 1 << 30
        h.capabilities.threads = 2
        h.capabilities.isa = "x86_64 avx512f"
        return WireMessage(.hello(h))
    }

    static func batch(rows: Int, hidden: Int, dtype: WireTensor.DType = .f32) -> WireMessage {
        var b = Strata_V1_Batch()
        b.batchID = 7
        var s = Strata_V1_SequenceEntry()
        s.sequenceID = 42
        s.firstPosition = 3
        s.tokenCount = UInt32(rows)
        s.sampling.temperature = 0.7
        s.sampling.topK = 40
        var op = Strata_V1_KVOp()
        op.op = .append(Strata_V1_KVOp.Append())
        s.kvOps = [op]
        b.sequences = [s]
        let values = (0..<rows * hidden).map { Float($0) * 0.25 - 3 }
        return WireMessage(.batch(b), tensors: [WireTensor(encoding: values, shape: [rows, hidden], as: dtype)])
    }

    /// Encodes an envelope by hand, for headers `encode` refuses to write.
    static func frames(_ envelope: Strata_V1_Envelope, _ raw: [[UInt8]] = []) throws -> [Frame] {
        let header: [UInt8] = try envelope.serializedBytes()
        return [Frame(copying: header)] + raw.map { Frame(copying: $0) }
    }

    func expect(_ expected: WireError, _ frames: [Frame], codec: WireCodec? = nil) {
        #expect(throws: expected) { try (codec ?? self.codec).decode(frames) }
    }

    @Test func helloRoundTrips() throws {
        let decoded = try codec.decode(try codec.encode(Self.hello()))
        guard case let .hello(h) = decoded.body else { Issue.record("not a hello"); return }
        #expect(h.workerName == "w0" && h.capabilities.memoryBytes == 1 << 30 && decoded.tensors.isEmpty)
    }

    @Test(arguments: [WireTensor.DType.f32, .bf16])
    func batchWithActivationsRoundTrips(dtype: WireTensor.DType) throws {
        let message = Self.batch(rows: 3, hidden: 8, dtype: dtype)
        let frames = try codec.encode(message)
        #expect(frames.count == 2 && frames[1].count == 3 * 8 * dtype.byteWidth)
        #expect(frames[1] === message.tensors[0].frame, "tensor frames are passed through, not copied")
        let decoded = try codec.decode(frames)
        #expect(decoded.tensors[0].shape == [3, 8] && decoded.tensors[0].dtype == dtype)
        // These values are exact in bf16 too (multiples of 1/4 below 2^8).
        #expect(decoded.tensors[0].floats() == message.tensors[0].floats())
        guard case let .batch(b) = decoded.body else { Issue.record("not a batch"); return }
        #expect(b.sequences[0].sampling.topK == 40 && b.sequences[0].kvOps.count == 1)
    }

    @Test func noFrames() { expect(.noFrames, []) }

    @Test func garbageHeader() {
        #expect(throws: WireError.self) { try codec.decode([Frame(copying: [0xFF, 0xFF, 0xFF])]) }
        do { _ = try codec.decode([Frame(copying: [0xFF, 0xFF, 0xFF])]); Issue.record("decoded garbage") } catch let e as WireError {
            guard case .malformedHeader = e else { Issue.record("wrong error \(e)"); return }
        } catch { Issue.record("untyped error \(error)") }
    }

    @Test func headerTooLarge() throws {
        let small = WireCodec(limits: WireLimits(maxHeaderBytes: 8))
        let frames = try codec.encode(Self.hello())
        expect(.headerTooLarge(bytes: frames[0].count, limit: 8), frames, codec: small)
    }

    @Test func versionMismatch() throws {
        let frames = try codec.encode(Self.hello(), version: 99)
        expect(.versionMismatch(received: 99, expected: WireProtocol.version), frames)
    }

    @Test func missingBody() throws {
        var e = Strata_V1_Envelope()
        e.version = WireProtocol.version
        expect(.unknownMessage(detail: "no body"), try Self.frames(e))
    }

    @Test func unknownBody() {
        // version = 1 (field 1), then field 99 varint 1: a body a newer peer might send.
        let header: [UInt8] = [0x08, UInt8(WireProtocol.version), 0x98, 0x06, 0x01]
        expect(.unknownMessage(detail: "a body this build does not know"), [Frame(copying: header)])
    }

    @Test func frameCountMismatch() throws {
        var frames = try codec.encode(Self.batch(rows: 1, hidden: 4))
        frames.append(Frame(copying: [1, 2, 3]))
        expect(.frameCountMismatch(described: 1, received: 2), frames)
        expect(.frameCountMismatch(described: 1, received: 0), [frames[0]])
    }

    @Test func unknownDType() throws {
        var e = Strata_V1_Envelope()
        e.version = WireProtocol.version
        e.heartbeat = Strata_V1_Heartbeat()
        var d = Strata_V1_TensorDesc()
        d.dtype = .UNRECOGNIZED(9)
        d.shape = [1]
        e.tensors = [d]
        expect(.unknownDType(tensor: 0, rawValue: 9), try Self.frames(e, [[0, 0, 0, 0]]))
    }

    @Test(arguments: [[UInt64](), [0, 4], [UInt64.max, 2], [1 << 40, 1 << 40], [1, 1, 1, 1, 1, 1, 1, 1, 1]])
    func invalidShape(shape: [UInt64]) throws {
        var e = Strata_V1_Envelope()
        e.version = WireProtocol.version
        e.heartbeat = Strata_V1_Heartbeat()
        var d = Strata_V1_TensorDesc()
        d.dtype = .f32
        d.shape = shape
        e.tensors = [d]
        do { _ = try codec.decode(try Self.frames(e, [[0, 0, 0, 0]])); Issue.record("accepted \(shape)") } catch let e as WireError {
            guard case let .invalidShape(tensor, s, _) = e, tensor == 0, s == shape else { Issue.record("wrong error \(e)"); return }
        }
    }

    @Test func frameSizeMismatch() throws {
        var frames = try codec.encode(Self.batch(rows: 2, hidden: 4))
        frames[1] = Frame(copying: [UInt8](repeating: 0, count: 31))
        expect(.frameSizeMismatch(tensor: 0, expected: 32, actual: 31), frames)
    }

    @Test func frameTooLarge() throws {
        let small = WireCodec(limits: WireLimits(maxFrameBytes: 16))
        let frames = try codec.encode(Self.batch(rows: 2, hidden: 4))
        expect(.frameTooLarge(frame: 1, bytes: 32, limit: 16), frames, codec: small)
        #expect(throws: WireError.frameTooLarge(frame: 1, bytes: 32, limit: 16)) {
            try small.encode(Self.batch(rows: 2, hidden: 4))
        }
    }

    @Test func tooManyTensors() throws {
        let small = WireCodec(limits: WireLimits(maxTensors: 1))
        var m = Self.hello()
        m.tensors = [WireTensor(encoding: [1], shape: [1]), WireTensor(encoding: [2], shape: [1])]
        let frames = try codec.encode(m)
        expect(.tooManyTensors(count: 2, limit: 1), frames, codec: small)
    }

    @Test func batchRowsMustMatchTokenCounts() throws {
        var m = Self.batch(rows: 2, hidden: 4)
        m.tensors = [WireTensor(encoding: [Float](repeating: 0, count: 12), shape: [3, 4])]
        #expect(throws: WireError.inconsistentBatch(reason: "activation tensor has 3 rows, sequences have 2 tokens")) {
            try codec.encode(m)
        }
    }

    @Test func batchTokenIdsMustMatchTokenCount() throws {
        var m = Self.batch(rows: 2, hidden: 4)
        guard case var .batch(b) = m.body else { return }
        b.sequences[0].tokenIds = [1, 2, 3]
        m.body = .batch(b)
        m.tensors = []
        #expect(throws: WireError.inconsistentBatch(reason: "sequence 42 has 3 token ids but token_count 2")) {
            try codec.encode(m)
        }
    }
}
