import Foundation
import SwiftProtobuf

/// Turns `WireMessage`s into multipart frames and back, validating everything a peer sends.
///
/// Layout: frame 0 is a protobuf `Strata_V1_Envelope` (version, tensor descriptions, body); frames
/// 1...n are the raw little-endian tensors in the order the envelope describes them.
/// (proto/strata/v1/envelope.proto documents the format.)
public struct WireCodec: Sendable {
    public var limits: WireLimits

    public init(limits: WireLimits = .standard) { self.limits = limits }

    /// Encodes a message as header + tensor frames. Tensor frames are passed through, not copied.
    /// Throws `WireError` when a tensor disagrees with its description or a limit.
    public func encode(_ message: WireMessage, version: UInt32 = WireProtocol.version) throws -> [Frame] {
        var envelope = Strata_V1_Envelope()
        envelope.version = version
        envelope.body = message.body
        envelope.tensors = message.tensors.map { t in
            var d = Strata_V1_TensorDesc()
            d.dtype = t.dtype == .f32 ? .f32 : .bf16
            d.shape = t.shape.map { UInt64(clamping: $0) }
            return d
        }
        let header: [UInt8] = try envelope.serializedBytes()
        let frames = [Frame(copying: header)] + message.tensors.map(\.frame)
        _ = try decode(frames, expectedVersion: version)  // the same checks a receiver makes
        return frames
    }

    /// Decodes and validates a multipart message. Never traps on peer input: every defect is a
    /// `WireError`.
    public func decode(_ frames: [Frame], expectedVersion: UInt32 = WireProtocol.version) throws -> WireMessage {
        guard let headerFrame = frames.first else { throw WireError.noFrames }
        let envelope = try decodeHeader(headerFrame)
        guard envelope.version == expectedVersion else {
            throw WireError.versionMismatch(received: envelope.version, expected: expectedVersion)
        }
        guard let body = envelope.body else {
            let detail = envelope.unknownFields.data.isEmpty ? "no body" : "a body this build does not know"
            throw WireError.unknownMessage(detail: detail)
        }
        let tensors = try decodeTensors(envelope.tensors, frames: frames.dropFirst())
        if case let .batch(batch) = body { try Self.validate(batch, tensors: tensors) }
        if case let .kvBlocks(blocks) = body { try Self.validate(blocks, tensors: tensors) }
        return WireMessage(body, tensors: tensors)
    }

    private func decodeHeader(_ frame: Frame) throws -> Strata_V1_Envelope {
        guard frame.count <= limits.maxHeaderBytes else {
            throw WireError.headerTooLarge(bytes: frame.count, limit: limits.maxHeaderBytes)
        }
        do {
            return try Strata_V1_Envelope(serializedBytes: Data(frame.bytes))
        } catch {
            throw WireError.malformedHeader(reason: "\(error)")
        }
    }

    private func decodeTensors(_ descs: [Strata_V1_TensorDesc], frames: ArraySlice<Frame>) throws -> [WireTensor] {
        guard descs.count <= limits.maxTensors else {
            throw WireError.tooManyTensors(count: descs.count, limit: limits.maxTensors)
        }
        guard descs.count == frames.count else {
            throw WireError.frameCountMismatch(described: descs.count, received: frames.count)
        }
        var tensors: [WireTensor] = []
        tensors.reserveCapacity(descs.count)
        for (i, (desc, frame)) in zip(descs, frames).enumerated() {
            guard frame.count <= limits.maxFrameBytes else {
                throw WireError.frameTooLarge(frame: i + 1, bytes: frame.count, limit: limits.maxFrameBytes)
            }
            let dtype = try Self.dtype(desc.dtype, tensor: i)
            let shape = try shape(desc.shape, tensor: i)
            let (bytes, overflow) = shape.reduce(1, *).multipliedReportingOverflow(by: dtype.byteWidth)
            guard !overflow, bytes == frame.count else {
                throw WireError.frameSizeMismatch(tensor: i, expected: overflow ? Int.max : bytes, actual: frame.count)
            }
            tensors.append(WireTensor(dtype: dtype, shape: shape, frame: frame))
        }
        return tensors
    }

    private static func dtype(_ d: Strata_V1_DType, tensor: Int) throws -> WireTensor.DType {
        switch d {
        case .f32: return .f32
        case .bf16: return .bf16
        default: throw WireError.unknownDType(tensor: tensor, rawValue: d.rawValue)
        }
    }

    /// Checks rank, positivity and that the element count fits the frame limit without overflow.
    private func shape(_ dims: [UInt64], tensor: Int) throws -> [Int] {
        func bad(_ reason: String) -> WireError { .invalidShape(tensor: tensor, shape: dims, reason: reason) }
        guard !dims.isEmpty else { throw bad("has no dimensions") }
        guard dims.count <= limits.maxRank else { throw bad("has more than \(limits.maxRank) dimensions") }
        var count = 1
        for d in dims {
            guard d > 0 else { throw bad("has a zero dimension") }
            guard d <= UInt64(limits.maxFrameBytes) else { throw bad("exceeds the frame limit") }
            let (p, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow, p <= limits.maxFrameBytes else { throw bad("exceeds the frame limit") }
            count = p
        }
        return dims.map { Int($0) }
    }

    /// KV blocks carry keys and values for each of their layers, `length` rows each, f32.
    private static func validate(_ b: Strata_V1_KVBlocks, tensors: [WireTensor]) throws {
        func bad(_ r: String) -> WireError { .inconsistentBatch(reason: "kv_blocks of sequence \(b.sequenceID): \(r)") }
        if b.done {
            guard tensors.isEmpty else { throw bad("a done message carries no tensors") }
            return
        }
        guard b.layerEnd > b.layerStart, b.length > 0 else { throw bad("empty layers [\(b.layerStart), \(b.layerEnd)) or length \(b.length)") }
        guard tensors.count == 2 * Int(b.layerEnd - b.layerStart) else {
            throw bad("\(tensors.count) tensors for \(b.layerEnd - b.layerStart) layers (keys and values each)")
        }
        for t in tensors where t.dtype != .f32 || t.shape.count != 2 || t.shape[0] != Int(b.length) || t.shape[1] != tensors[0].shape[1] {
            throw bad("tensor \(t.shape) \(t.dtype) is not [\(b.length), width] f32 like the others")
        }
    }

    /// A batch's token ids and activation rows must agree with its sequences' token counts.
    private static func validate(_ batch: Strata_V1_Batch, tensors: [WireTensor]) throws {
        var rows = 0
        for s in batch.sequences {
            if !s.tokenIds.isEmpty && s.tokenIds.count != Int(s.tokenCount) {
                throw WireError.inconsistentBatch(
                    reason: "sequence \(s.sequenceID) has \(s.tokenIds.count) token ids but token_count \(s.tokenCount)")
            }
            rows += Int(s.tokenCount)
        }
        guard let activations = tensors.first else { return }
        guard tensors.count == 1, activations.shape.count == 2 else {
            throw WireError.inconsistentBatch(reason: "expected one [tokens, hidden] activation tensor")
        }
        guard activations.shape[0] == rows else {
            throw WireError.inconsistentBatch(
                reason: "activation tensor has \(activations.shape[0]) rows, sequences have \(rows) tokens")
        }
    }
}
