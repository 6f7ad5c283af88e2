/// One open sequence as a stage holds it: its KV cache for the stage's layers and, on the last
/// stage, its sampler. Live re-sharding moves these between workers.
public struct SequenceState: @unchecked Sendable {
    public var sequence: UInt64
    public var cache: KVCache
    public var sampler: Sampler?
    public init(sequence: UInt64, cache: KVCache, sampler: Sampler?) {
        self.sequence = sequence; self.cache = cache; self.sampler = sampler
    }
}

/// Why `install` refused a set of sequences (nothing changed).
public enum MigrationError: Error, Equatable, CustomStringConvertible {
    case wrongLayers(sequence: UInt64, cached: Range<Int>, slice: Range<Int>)
    case missingSampler(sequence: UInt64)
    case duplicate(sequence: UInt64)

    public var description: String {
        switch self {
        case let .wrongLayers(s, c, l): return "sequence \(s): cache covers layers \(c), the slice holds \(l)"
        case let .missingSampler(s): return "sequence \(s): the last stage needs its sampler"
        case let .duplicate(s): return "sequence \(s) given twice"
        }
    }
}

extension ModelSlice {
    /// Every open sequence, by id, with its cache and (last stage) sampler. The caches are this
    /// slice's own objects: read them before the slice runs another step.
    public var sequenceStates: [SequenceState] {
        caches.keys.sorted().map { SequenceState(sequence: $0, cache: caches[$0]!, sampler: samplers[$0]) }
    }

    /// Replaces every open sequence with `states`, whose caches must cover exactly this slice's
    /// layers, each with a sampler on the last stage.
    public func install(_ states: [SequenceState]) throws {
        var seen = Set<UInt64>()
        for s in states {
            guard seen.insert(s.sequence).inserted else { throw MigrationError.duplicate(sequence: s.sequence) }
            guard s.cache.layerRange == layerRange, s.cache.rowWidth == config.kvHeads * config.headDim else {
                throw MigrationError.wrongLayers(sequence: s.sequence, cached: s.cache.layerRange, slice: layerRange)
            }
            if isLast && s.sampler == nil { throw MigrationError.missingSampler(sequence: s.sequence) }
        }
        releaseAll()
        for s in states {
            caches[s.sequence] = s.cache
            if isLast { samplers[s.sequence] = s.sampler }
        }
    }
}
