import StrataModel
import StrataWire

/// Conversions between the wire's pipeline messages (proto/strata/v1/pipeline.proto) and the
/// transport-blind `SliceEntry`s a `ModelSlice` runs.
enum PipelineWire {
    static func params(_ s: SamplingParameters) -> Strata_V1_SamplingParams {
        var p = Strata_V1_SamplingParams()
        p.temperature = s.temperature
        p.topK = UInt32(clamping: s.topK)
        p.topP = s.topP
        p.minP = s.minP
        p.repetitionPenalty = s.repetitionPenalty
        p.presencePenalty = s.presencePenalty
        p.frequencyPenalty = s.frequencyPenalty
        p.seed = s.seed
        return p
    }

    /// Parameters of a wire entry. An unset (0) top_p or repetition_penalty means off (1), since
    /// proto3 cannot tell an omitted field from 0 and 0 is meaningless for both.
    static func sampling(_ p: Strata_V1_SamplingParams) -> SamplingParameters {
        SamplingParameters(temperature: p.temperature, topK: Int(p.topK), topP: p.topP == 0 ? 1 : p.topP, minP: p.minP,
                           repetitionPenalty: p.repetitionPenalty == 0 ? 1 : p.repetitionPenalty, presencePenalty: p.presencePenalty,
                           frequencyPenalty: p.frequencyPenalty, seed: p.seed)
    }

    static func samplerState(_ s: Sampler.State) -> Strata_V1_SamplerState {
        var w = Strata_V1_SamplerState()
        w.params = params(s.parameters)
        w.rng = s.rng
        w.generatedTokens = s.generated.map { UInt32(clamping: $0.token) }
        w.generatedCounts = s.generated.map { UInt32(clamping: $0.count) }
        w.seen = s.seen.map { UInt32(clamping: $0) }
        return w
    }

    static func samplerState(_ w: Strata_V1_SamplerState) -> Sampler.State {
        Sampler.State(parameters: sampling(w.params), rng: w.rng,
                      generated: zip(w.generatedTokens, w.generatedCounts).map { (Int($0), Int($1)) }, seen: w.seen.map { Int($0) })
    }

    /// The slice entries of a batch. Token ids are kept only where `first` needs them.
    static func entries(_ batch: Strata_V1_Batch, first: Bool) throws -> [SliceEntry] {
        try batch.sequences.map { s in
            let sampling = sampling(s.sampling)
            if s.kvOps.contains(where: { if case .start = $0.op { return true }; if case .fork = $0.op { return true }; return false }) {
                do { try sampling.validate() } catch {
                    throw ClusterError.protocolViolation("sequence \(s.sequenceID): \(error)")
                }
            }
            guard Int(s.resumedSamples) <= s.history.count else {
                throw ClusterError.protocolViolation("sequence \(s.sequenceID): resumed_samples \(s.resumedSamples) > history \(s.history.count)")
            }
            let ops: [KVOperation] = try s.kvOps.map { op in
                switch op.op {
                case .start: return .start(sampling: sampling, history: s.history.map(Int.init), resumed: Int(s.resumedSamples))
                case .append: return .append
                case let .truncate(t): return .truncate(length: Int(t.length))
                case let .fork(f): return .fork(source: f.sourceSequenceID, length: Int(f.length), sampling: sampling)
                case .free: return .free
                case nil: throw ClusterError.protocolViolation("sequence \(s.sequenceID): KV operation with no kind")
                }
            }
            guard s.topLogprobs <= 20 else { throw ClusterError.protocolViolation("top_logprobs \(s.topLogprobs) > 20") }
            return SliceEntry(sequence: s.sequenceID, firstPosition: Int(s.firstPosition), tokenCount: Int(s.tokenCount),
                              operations: ops, tokens: first ? s.tokenIds.map(Int.init) : [],
                              sample: s.sample, topLogprobs: Int(s.topLogprobs))
        }
    }

    static func result(_ sequence: UInt64, _ t: SampledToken, wantsLogprobs: Bool) -> Strata_V1_SequenceResult {
        var r = Strata_V1_SequenceResult()
        r.sequenceID = sequence
        r.tokenID = UInt32(t.token)
        if wantsLogprobs || !t.top.isEmpty { r.logprob = t.logprob }
        r.topLogprobs = t.top.map { var l = Strata_V1_TokenLogprob(); l.tokenID = UInt32($0.token); l.logprob = $0.logprob; return l }
        return r
    }

    static func sampled(_ r: Strata_V1_SequenceResult) -> SampledToken {
        SampledToken(token: Int(r.tokenID), logprob: r.logprob, top: r.topLogprobs.map { (token: Int($0.tokenID), logprob: $0.logprob) })
    }

    static func error(_ code: Strata_V1_ErrorCode, _ message: String, batch: UInt64 = 0, worker: String) -> WireMessage {
        var e = Strata_V1_Error()
        e.code = code
        e.message = message
        e.batchID = batch
        e.workerName = worker
        return WireMessage(.error(e))
    }
}
