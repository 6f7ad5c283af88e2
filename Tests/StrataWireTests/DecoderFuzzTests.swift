import StrataWire
import Testing

/// Feeds the decoder 10⁵+ mutated messages (bit flips, truncation, extension, random bytes, frames
/// dropped or added): each must decode or throw a `WireError`, never crash or throw anything else.
struct DecoderFuzzTests {
    static let iterations = 120_000

    static func seeds() throws -> [[Frame]] {
        let codec = WireCodec()
        var results = Strata_V1_Results()
        var r = Strata_V1_SequenceResult()
        r.sequenceID = 5; r.tokenID = 17; r.logprob = -0.25
        results.sequences = [r]
        var assign = Strata_V1_Assign()
        assign.modelPath = "/m.gguf"; assign.layerStart = 3; assign.layerEnd = 9; assign.precision = .fp8
        return try [
            codec.encode(WireCodecTests.hello()),
            codec.encode(WireCodecTests.batch(rows: 2, hidden: 6)),
            codec.encode(WireCodecTests.batch(rows: 1, hidden: 5, dtype: .bf16)),
            codec.encode(WireMessage(.results(results))),
            codec.encode(WireMessage(.assign(assign))),
        ]
    }

    static func mutate(_ frames: [Frame], _ rng: inout SplitMix64) -> [Frame] {
        var parts = frames.map(\.array)
        let target = Int(rng.next() % UInt64(parts.count))
        switch rng.next() % 6 {
        case 0, 1:  // flip 1–4 bits
            for _ in 0...(rng.next() % 4) where !parts[target].isEmpty {
                let i = Int(rng.next() % UInt64(parts[target].count))
                parts[target][i] ^= 1 << UInt8(rng.next() % 8)
            }
        case 2:  // truncate
            parts[target].removeLast(Int(rng.next() % UInt64(parts[target].count + 1)))
        case 3:  // extend with random bytes
            parts[target] += (0..<(1 + rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 4:  // replace with random bytes
            parts[target] = (0..<(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        default:  // drop or add a frame
            if rng.next() % 2 == 0, parts.count > 1 { parts.remove(at: target) } else { parts.append([1, 2, 3, 4]) }
        }
        return parts.map { Frame(copying: $0) }
    }

    @Test func mutatedFramesNeverCrash() throws {
        let codec = WireCodec(limits: WireLimits(maxHeaderBytes: 4096, maxFrameBytes: 1 << 20))
        let seeds = try Self.seeds()
        var rng = SplitMix64(seed: 0x5EED)
        var decoded = 0, rejected = 0
        for i in 0..<Self.iterations {
            let frames = Self.mutate(seeds[i % seeds.count], &rng)
            do {
                _ = try codec.decode(frames)
                decoded += 1
            } catch is WireError {
                rejected += 1
            } catch {
                Issue.record("untyped error \(error)")
                return
            }
        }
        #expect(decoded + rejected == Self.iterations)
        #expect(rejected > Self.iterations / 4, "most mutations should be caught")
    }
}
