import Foundation
import StrataKernels

/// A checkpoint on disk in a real DeepSeek shape with synthetic weights (`strata synth`): the
/// stand-in wherever real weights cannot be downloaded — tests, benchmarks, the cluster at size.
///
/// - `config.json`: the published architecture of the shape with `num_hidden_layers` = `layers`
///   (and, for `fp8`, `quantization_config` as DeepSeek-V3 and HF `quant_method: "fp8"` write it).
/// - Weights: real tensor names and shapes (`CanonicalName`). Every linear comes from
///   `SyntheticWeights.matrix` — the generator `strata bench decode` uses: E4M3 codes with bit 6
///   clear and block scales 2/√fan-in, so activations keep their scale through any depth. `fp8`
///   writes those codes and scales as they are (`…weight` F8_E4M3 + `…weight_scale_inv` F32);
///   `bf16` writes code × scale rounded to BF16. Embedding and head are such matrices in BF16;
///   norms are ones in BF16.
/// - Shards of at most `maxShardBytes`, cut at layer boundaries, with
///   `model.safetensors.index.json`; each shard is written whole or not at all, and `config.json`
///   comes last, so a directory without it is an interrupted run.
/// - The tokenizer files of `tokenizerDirectory`, when given (DeepSeek LLM's, from the test assets).
public enum SyntheticCheckpoint {
    public enum DType: String, Sendable, CaseIterable { case bf16, fp8 }

    public struct Options: Sendable {
        public var shape: SyntheticShape
        public var layers: Int
        public var dtype: DType
        public var outDirectory: String
        public var seed: UInt64
        public var tokenizerDirectory: String?
        public var maxShardBytes: Int

        public init(shape: SyntheticShape, layers: Int, dtype: DType, outDirectory: String, seed: UInt64 = 0,
                    tokenizerDirectory: String? = nil, maxShardBytes: Int = 5_000_000_000) {
            self.shape = shape; self.layers = layers; self.dtype = dtype; self.outDirectory = outDirectory
            self.seed = seed; self.tokenizerDirectory = tokenizerDirectory; self.maxShardBytes = maxShardBytes
        }
    }

    public enum SynthError: Error, CustomStringConvertible, Equatable {
        case badLayers(Int, max: Int)
        case outputNotEmpty(String)
        case io(String)

        public var description: String {
            switch self {
            case let .badLayers(n, m): return "--layers \(n): must be 1…\(m) for this shape"
            case let .outputNotEmpty(d): return "\(d) exists and is not empty; give a new or empty directory"
            case let .io(r): return r
            }
        }
    }

    /// What was written.
    public struct Summary: Sendable {
        public var files: [String]
        public var bytes: Int
    }

    /// One group of tensors kept in one shard: the embedding, a layer, or the final norm + head.
    struct Part {
        var tensors: [SafetensorsFileWriter.Entry]
        var bytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }
    }

    public static func write(_ o: Options, pool: ThreadPool, progress: (String) -> Void = { _ in }) throws -> Summary {
        let full = o.shape.config
        guard o.layers >= 1, o.layers <= full.layerCount else { throw SynthError.badLayers(o.layers, max: full.layerCount) }
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: o.outDirectory), !existing.isEmpty { throw SynthError.outputNotEmpty(o.outDirectory) }
        do { try fm.createDirectory(atPath: o.outDirectory, withIntermediateDirectories: true) } catch {
            throw SynthError.io("cannot create \(o.outDirectory): \(error.localizedDescription)")
        }
        var config = full
        config.layerCount = o.layers
        let parts = [embeddingPart(config)] + (0..<o.layers).map { layerPart($0, config, o.dtype) } + [tailPart(config)]
        let shards = pack(parts, limit: o.maxShardBytes)
        var files: [String] = [], weightMap: [String: String] = [:], total = 0
        for (i, shard) in shards.enumerated() {
            let name = String(format: "model-%05d-of-%05d.safetensors", i + 1, shards.count)
            let entries = shard.flatMap(\.tensors)
            let writer = try SafetensorsFileWriter(path: o.outDirectory + "/" + name, entries: entries, metadata: ["format": "pt"])
            for e in entries {
                try emit(e, writer: writer, config: config, seed: o.seed, pool: pool)
                weightMap[e.name] = name
            }
            try writer.finish()
            files.append(name)
            total += writer.fileSize
            progress("\(name): \(entries.count) tensors, \(writer.fileSize >> 20) MiB")
        }
        try writeJSON(["metadata": ["total_size": total], "weight_map": weightMap], to: o.outDirectory + "/model.safetensors.index.json")
        if let dir = o.tokenizerDirectory {
            for file in ["tokenizer.json", "tokenizer_config.json"] where fm.fileExists(atPath: dir + "/" + file) {
                try? fm.removeItem(atPath: o.outDirectory + "/" + file)
                do { try fm.copyItem(atPath: dir + "/" + file, toPath: o.outDirectory + "/" + file) } catch {
                    throw SynthError.io("cannot copy \(dir)/\(file): \(error.localizedDescription)")
                }
            }
        }
        try writeJSON(configJSON(o), to: o.outDirectory + "/config.json")
        return Summary(files: files + ["model.safetensors.index.json", "config.json"], bytes: total)
    }

    /// The published config of the shape, `layers` deep, as HF writes it.
    static func configJSON(_ o: Options) -> [String: Any] {
        let c = o.shape.config
        var json: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": c.hiddenSize,
            "intermediate_size": c.intermediateSize, "num_hidden_layers": o.layers, "num_attention_heads": c.heads,
            "num_key_value_heads": c.kvHeads, "vocab_size": c.vocabSize, "rms_norm_eps": c.rmsNormEps, "rope_theta": c.ropeTheta,
            "max_position_embeddings": c.maxPositions, "bos_token_id": 100000, "eos_token_id": 100001,
            "tie_word_embeddings": false, "hidden_act": "silu", "torch_dtype": "bfloat16",
        ]
        if o.dtype == .fp8 {
            json["quantization_config"] = ["quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                                           "weight_block_size": [128, 128]]
        }
        return json
    }

    static func embeddingPart(_ c: ModelConfig) -> Part {
        Part(tensors: [.init(name: CanonicalName.embedTokens, dtype: "BF16", shape: [c.vocabSize, c.hiddenSize])])
    }

    static func tailPart(_ c: ModelConfig) -> Part {
        Part(tensors: [.init(name: CanonicalName.finalNorm, dtype: "BF16", shape: [c.hiddenSize]),
                       .init(name: CanonicalName.lmHead, dtype: "BF16", shape: [c.vocabSize, c.hiddenSize])])
    }

    /// The linears of a layer with their generator slot (`SyntheticWeights.layer` uses the same).
    static func linears(_ c: ModelConfig) -> [(module: CanonicalName.Module, slot: UInt64, rows: Int, cols: Int)] {
        let h = c.hiddenSize, qw = c.heads * c.headDim, kw = c.kvHeads * c.headDim, f = c.intermediateSize
        return [(.qProj, 1, qw, h), (.kProj, 2, kw, h), (.vProj, 3, kw, h), (.oProj, 4, h, qw),
                (.gateProj, 5, f, h), (.upProj, 6, f, h), (.downProj, 7, h, f)]
    }

    static func layerPart(_ i: Int, _ c: ModelConfig, _ dtype: DType) -> Part {
        var t: [SafetensorsFileWriter.Entry] = [
            .init(name: CanonicalName.weight(i, .inputNorm), dtype: "BF16", shape: [c.hiddenSize]),
            .init(name: CanonicalName.weight(i, .postAttentionNorm), dtype: "BF16", shape: [c.hiddenSize]),
        ]
        for l in linears(c) {
            let name = CanonicalName.weight(i, l.module)
            switch dtype {
            case .fp8:
                t.append(.init(name: name, dtype: "F8_E4M3", shape: [l.rows, l.cols]))
                t.append(.init(name: name + "_scale_inv", dtype: "F32", shape: [(l.rows + 127) / 128, (l.cols + 127) / 128]))
            case .bf16:
                t.append(.init(name: name, dtype: "BF16", shape: [l.rows, l.cols]))
            }
        }
        return Part(tensors: t)
    }

    /// Consecutive parts per shard, a new shard whenever the next part would pass `limit`.
    static func pack(_ parts: [Part], limit: Int) -> [[Part]] {
        var shards: [[Part]] = [[]]
        var size = 0
        for p in parts {
            if size > 0 && size + p.bytes > limit { shards.append([]); size = 0 }
            shards[shards.count - 1].append(p)
            size += p.bytes
        }
        return shards
    }

    /// Generates and writes one tensor.
    static func emit(_ e: SafetensorsFileWriter.Entry, writer: SafetensorsFileWriter, config c: ModelConfig, seed: UInt64,
                     pool: ThreadPool) throws {
        func mixed(_ slot: UInt64) -> UInt64 { seed == 0 ? slot : slot ^ (seed &* 0x9E37_79B9_7F4A_7C15) }
        if e.name.hasSuffix("_scale_inv") { return }   // written with its weight
        if e.name.hasSuffix("layernorm.weight") || e.name == CanonicalName.finalNorm {
            let ones = [UInt16](repeating: bf16Bits(1), count: c.hiddenSize)
            try ones.withUnsafeBytes { try writer.write(e.name, $0) }
            return
        }
        let slot: UInt64, rows = e.shape[0], cols = e.shape[1]
        if e.name == CanonicalName.embedTokens { slot = 0xE_0000 } else if e.name == CanonicalName.lmHead { slot = 0xF_0000 } else {
            let (i, suffix) = CanonicalName.parseLayer(e.name)!
            let module = linears(c).first { suffix == $0.module.weight }!
            slot = UInt64(i) << 8 | module.slot
        }
        let m = SyntheticWeights.matrix(rows: rows, cols: cols, seed: mixed(slot), pool: pool)
        if e.dtype == "F8_E4M3" {
            try writer.write(e.name, UnsafeRawBufferPointer(start: m.codes, count: rows * cols))
            let scales = m.scaleRows * m.scaleColumns
            try writer.write(e.name + "_scale_inv", UnsafeRawBufferPointer(start: m.scales, count: scales * 4))
            return
        }
        // BF16: code × scale, 512 rows at a time.
        let chunk = 512
        let floats = UnsafeMutablePointer<Float>.allocate(capacity: chunk * cols)
        let halves = UnsafeMutablePointer<UInt16>.allocate(capacity: chunk * cols)
        defer { floats.deallocate(); halves.deallocate() }
        var r = 0
        while r < rows {
            let n = min(chunk, rows - r)
            m.dequantizeRows(r, count: n, into: floats)
            for k in 0..<(n * cols) { halves[k] = bf16Bits(floats[k]) }
            try writer.write(e.name, UnsafeRawBufferPointer(start: halves, count: n * cols * 2))
            r += n
        }
    }

    /// f32 → bf16 bits, rounded to nearest even (NaN stays NaN).
    @inline(__always) static func bf16Bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if x.isNaN { return UInt16(b >> 16) | 0x40 }
        return UInt16((b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }

    static func writeJSON(_ object: Any, to path: String) throws {
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SynthError.io("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
