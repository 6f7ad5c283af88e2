import StrataModel
import StrataWire

/// One move of live re-sharding: `layers` of every open sequence go from the worker that held
/// them under the old plan to the one that holds them under the new; with `samplers`, the
/// receiver becomes the last stage and takes each sequence's sampler too.
public struct KVMove: Sendable, Equatable {
    public var from: String
    public var to: String
    public var layers: Range<Int>
    public var samplers: Bool

    public init(from: String, to: String, layers: Range<Int>, samplers: Bool) {
        self.from = from; self.to = to; self.layers = layers; self.samplers = samplers
    }

    /// The moves that turn `old`'s layout into `new`'s: every layer whose owner changes. A layer's
    /// new owner that held it before keeps it. The last layer's old owner is the old last stage,
    /// so the samplers ride with it whenever the last stage changes hands.
    public static func between(_ old: Plan, _ new: Plan) -> [KVMove] {
        between(old.stages.map { ($0.worker, $0.layerRange) }, new.stages.map { ($0.worker, $0.layerRange) })
    }

    /// The same over stages in pipeline order (the last one is the last stage).
    public static func between(_ old: [(worker: String, layers: Range<Int>)], _ new: [(worker: String, layers: Range<Int>)]) -> [KVMove] {
        var moves: [KVMove] = []
        for (j, n) in new.enumerated() {
            for (i, o) in old.enumerated() where o.worker != n.worker {
                let lo = max(o.layers.lowerBound, n.layers.lowerBound), hi = min(o.layers.upperBound, n.layers.upperBound)
                guard lo < hi else { continue }
                moves.append(KVMove(from: o.worker, to: n.worker, layers: lo..<hi, samplers: i == old.count - 1 && j == new.count - 1))
            }
        }
        return moves
    }
}

/// The sending side: one sequence's KV cache for the route's layers in messages of at most
/// `chunkLayers` layers (2 tensors per layer, within the codec's tensor limit), then a done marker.
enum KVSender {
    static let chunkLayers = 16

    /// Sends every open sequence of `slice` along `route`; returns (sequences, bytes).
    @discardableResult
    static func send(_ slice: ModelSlice, route: Strata_V1_KVRoute, planID: UInt64, sender: String,
                     _ send: (WireMessage) throws -> Void) throws -> (sequences: Int, bytes: Int) {
        let layers = Int(route.layerStart)..<Int(route.layerEnd)
        guard layers.clamped(to: slice.layerRange) == layers, !layers.isEmpty else {
            throw ClusterError.protocolViolation("MigrateKV asks for layers \(layers); this worker holds \(slice.layerRange)")
        }
        let states = slice.sequenceStates
        var bytes = 0
        for s in states where s.cache.length > 0 {
            var start = layers.lowerBound
            while start < layers.upperBound {
                let end = min(layers.upperBound, start + chunkLayers)
                var b = Strata_V1_KVBlocks()
                b.planID = planID
                b.sender = sender
                b.sequenceID = s.sequence
                b.layerStart = UInt32(start)
                b.layerEnd = UInt32(end)
                b.length = UInt32(s.cache.length)
                if route.samplers && end == layers.upperBound && slice.isLast, let sampler = s.sampler {
                    b.sampler = PipelineWire.samplerState(sampler.state)
                }
                let n = s.cache.length * s.cache.rowWidth
                var tensors: [WireTensor] = []
                for l in start..<end {
                    tensors.append(WireTensor(encoding: UnsafeBufferPointer(start: s.cache.keys(l), count: n), shape: [s.cache.length, s.cache.rowWidth], as: .f32))
                    tensors.append(WireTensor(encoding: UnsafeBufferPointer(start: s.cache.values(l), count: n), shape: [s.cache.length, s.cache.rowWidth], as: .f32))
                    bytes += 8 * n
                }
                try send(WireMessage(.kvBlocks(b), tensors: tensors))
                start = end
            }
        }
        var done = Strata_V1_KVBlocks()
        done.planID = planID
        done.sender = sender
        done.done = true
        done.sequences = UInt32(states.filter { $0.cache.length > 0 }.count)
        try send(WireMessage(.kvBlocks(done)))
        return (Int(done.sequences), bytes)
    }
}

/// The receiving side: collects the KV blocks other workers send for one plan, then assembles
/// each sequence's cache for the new slice from what this worker kept and what arrived.
final class KVReceiver {
    let planID: UInt64
    let created = ContinuousClock.now
    private struct Part {
        var length: Int
        var layers: [Int: (keys: [Float], values: [Float])] = [:]
        var sampler: Sampler?
    }
    private var parts: [UInt64: Part] = [:]
    private var finished: [String: Int] = [:]   // sender → sequences it says it sent
    private var received: [String: Set<UInt64>] = [:]
    private(set) var bytes = 0
    /// Why some blocks were refused (the assembled result is then incomplete).
    private(set) var problems: [String] = []

    init(planID: UInt64) { self.planID = planID }

    func add(_ b: Strata_V1_KVBlocks, tensors: [WireTensor]) {
        if b.done { finished[b.sender] = Int(b.sequences); return }
        var part = parts[b.sequenceID] ?? Part(length: Int(b.length))
        guard part.length == Int(b.length) else {
            problems.append("sequence \(b.sequenceID): \(b.sender) sent \(b.length) positions, another sender \(part.length)")
            return
        }
        for (i, l) in (Int(b.layerStart)..<Int(b.layerEnd)).enumerated() {
            part.layers[l] = (tensors[2 * i].floats(), tensors[2 * i + 1].floats())
            bytes += tensors[2 * i].frame.count + tensors[2 * i + 1].frame.count
        }
        if b.hasSampler {
            guard let s = Sampler(state: PipelineWire.samplerState(b.sampler)) else {
                problems.append("sequence \(b.sequenceID): \(b.sender) sent an invalid sampler state")
                return
            }
            part.sampler = s
        }
        parts[b.sequenceID] = part
        received[b.sender, default: []].insert(b.sequenceID)
    }

    /// Every source sent its done marker.
    func isDone(sources: [String]) -> Bool { sources.allSatisfy { finished[$0] != nil } }

    /// The new slice's sequences: each sequence's layers from `kept` (the old slice's states) where
    /// they cover it, otherwise from the blocks received. Sequences lacking a layer, a sampler
    /// (last stage) or agreeing lengths are left out and named in `incomplete`.
    func assemble(for slice: ModelSlice, kept: [SequenceState], sources: [String]) -> (states: [SequenceState], incomplete: [String]) {
        var incomplete = problems
        for s in sources {
            if let n = finished[s], n != received[s]?.count ?? 0 {
                incomplete.append("\(s) said it sent \(n) sequences, \(received[s]?.count ?? 0) arrived")
            } else if finished[s] == nil {
                incomplete.append("nothing finished from \(s)")
            }
        }
        let own = Dictionary(kept.map { ($0.sequence, $0) }, uniquingKeysWith: { a, _ in a })
        let ids = Set(own.keys).union(parts.keys).sorted()
        let width = slice.config.kvHeads * slice.config.headDim
        var states: [SequenceState] = []
        for id in ids {
            let mine = own[id], part = parts[id]
            let length = mine?.cache.length ?? part!.length
            if let part, part.length != length {
                incomplete.append("sequence \(id): kept \(length) positions, received \(part.length)")
                continue
            }
            let cache = KVCache(layerRange: slice.layerRange, rowWidth: width, length: length)
            var missing: Int?
            for l in slice.layerRange where length > 0 {
                if let c = mine?.cache, c.layerRange.contains(l) {
                    cache.load(layer: l, keys: c.keys(l), values: c.values(l))
                } else if let (k, v) = part?.layers[l], k.count == length * width, v.count == length * width {
                    cache.load(layer: l, keys: k, values: v)
                } else { missing = l; break }
            }
            if let missing { incomplete.append("sequence \(id): no KV for layer \(missing)"); continue }
            let sampler = slice.isLast ? (mine?.sampler ?? part?.sampler) : nil
            if slice.isLast && sampler == nil { incomplete.append("sequence \(id): no sampler"); continue }
            states.append(SequenceState(sequence: id, cache: cache, sampler: sampler))
        }
        return (states, incomplete)
    }
}
