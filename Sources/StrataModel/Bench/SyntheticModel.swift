import StrataKernels

/// Real model shapes with synthetic weights, for `strata bench decode` (no download).
public enum SyntheticShape: String, Sendable, CaseIterable {
    case deepSeekLLM7B = "deepseek-llm-7b"
    case deepSeekLLM67B = "deepseek-llm-67b"

    /// The architecture of the published checkpoint (values of its `config.json`).
    public var config: ModelConfig {
        let (hidden, ffn, layers, heads, kvHeads): (Int, Int, Int, Int, Int) = switch self {
        case .deepSeekLLM7B: (4096, 11008, 30, 32, 32)
        case .deepSeekLLM67B: (8192, 22016, 95, 64, 8)
        }
        let json: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "hidden_size": hidden, "intermediate_size": ffn,
            "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kvHeads,
            "vocab_size": 102400, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 4096,
            "bos_token_id": 100000, "eos_token_id": 100001, "tie_word_embeddings": false,
        ]
        // The literal above is a valid config: a failure here is a programmer error.
        return try! ModelConfig(huggingFaceJSON: json)
    }

    /// Bytes of FP8 weights (codes, block scales, f32 norms) of one decoder layer.
    public var layerBytes: Int {
        let c = config, h = c.hiddenSize, qw = c.heads * c.headDim, kw = c.kvHeads * c.headDim
        func fp8(_ r: Int, _ k: Int) -> Int { r * k + ((r + 127) / 128) * ((k + 127) / 128) * 4 }
        return fp8(qw, h) + 2 * fp8(kw, h) + fp8(h, qw) + 2 * fp8(c.intermediateSize, h) + fp8(h, c.intermediateSize) + 2 * h * 4
    }

    /// Layers whose weights fit in `budget` bytes, at least 1 and at most the model's layer count.
    public func layers(fittingIn budget: Int) -> Int {
        min(config.layerCount, max(1, budget / layerBytes))
    }
}

/// Deterministic synthetic FP8 decoder layers, generated in place at memory speed.
///
/// Codes are xorshift bytes with bit 6 cleared: exponent field ≤ 7, so |code| < 2 and never a NaN
/// (0x7F/0xFF); their RMS is ≈ 0.48. Each 128×128 block's scale is 2/√cols, so W·x keeps the RMS of
/// x (≈ 1/√fan-in, like a trained model) and activations stay finite through any number of layers.
/// Every 128-row block has its own seed, so the contents do not depend on the thread count.
public enum SyntheticWeights {
    /// An FP8 matrix (rows, cols) filled from `seed`.
    public static func matrix(rows: Int, cols: Int, seed: UInt64, pool: ThreadPool) -> BlockScaledFP8Matrix {
        let m = BlockScaledFP8Matrix(rows: rows, cols: cols)
        let scale = 2 / Float(cols).squareRoot()
        m.scales.update(repeating: scale, count: m.scaleRows * m.scaleColumns)
        pool.parallelFor(m.scaleRows) { blocks in
            for rb in blocks {
                var rng = BenchRandom(seed: seed &* 0x1_0000_0001 &+ UInt64(rb))
                let r0 = rb * 128, n = min(128, rows - r0)
                rng.fillCodes(m.codes + r0 * cols, count: n * cols)
            }
        }
        return m
    }

    /// Decoder layer `index` of `config` (no q/k/v biases; norm weights 1).
    public static func layer(_ index: Int, config c: ModelConfig, pool: ThreadPool) -> DecoderLayer {
        let h = c.hiddenSize, qw = c.heads * c.headDim, kw = c.kvHeads * c.headDim
        let base = UInt64(index) << 8
        func w(_ k: UInt64, _ rows: Int, _ cols: Int) -> LinearWeight { matrix(rows: rows, cols: cols, seed: base | k, pool: pool) }
        let ones = [Float](repeating: 1, count: h)
        return DecoderLayer(
            index: index, attentionNorm: ones, mlpNorm: ones,
            q: w(1, qw, h), k: w(2, kw, h), v: w(3, kw, h), o: w(4, h, qw), qBias: nil, kBias: nil, vBias: nil,
            gate: w(5, c.intermediateSize, h), up: w(6, c.intermediateSize, h), down: w(7, h, c.intermediateSize))
    }

    /// Layers `range` of `config` as a stack.
    public static func stack(_ range: Range<Int>, config: ModelConfig, pool: ThreadPool) -> LayerStack {
        LayerStack(config: config, layers: range.map { layer($0, config: config, pool: pool) })
    }
}
