import StrataKernels

/// Precision of linear weights in memory.
public enum WeightPrecision: String, Sendable, CaseIterable {
    /// Block-scaled FP8 E4M3 (128×128): the serving format.
    case fp8
    /// f32: the reference path for tests and comparisons.
    case f32
}

/// Precision of the token embedding and output head, which stay above FP8 by default: their
/// rounding errors land directly on the logits (measured: FP8 tables cost SmolLM2 ~3% perplexity).
public enum TablePrecision: String, Sendable, CaseIterable {
    case f16, f32, fp8
}

/// The token embedding table (vocab, hidden).
public struct EmbeddingTable: @unchecked Sendable {
    public let matrix: LinearWeight
    /// Writes the embedding of `token` into `out` (hidden,).
    public func lookup(_ token: Int, into out: UnsafeMutablePointer<Float>) {
        switch matrix {
        case let m as F32Matrix: out.update(from: m.values + token * m.cols, count: m.cols)
        case let m as F16Matrix: m.row(token, into: out)
        case let m as BlockScaledFP8Matrix: m.dequantizeRows(token, count: 1, into: out)
        default: preconditionFailure("unsupported embedding matrix \(type(of: matrix))")
        }
    }
}

/// Converts checkpoint tensors into in-memory weights: every linear becomes block-scaled FP8
/// (FP8 checkpoints pass through exactly) or f32. Loads only what a stage asks for.
public struct ModelLoader {
    public let source: ModelSource
    public let precision: WeightPrecision
    /// Threads that convert weights at load.
    public let pool: ThreadPool
    /// Embedding and head precision; default f32 beside f32 linears, else f16.
    public let tablePrecision: TablePrecision
    public var config: ModelConfig { source.config }

    public init(source: ModelSource, precision: WeightPrecision, tablePrecision: TablePrecision? = nil,
                pool: ThreadPool = ThreadPool(threads: 1)) {
        self.source = source
        self.pool = pool
        self.precision = precision
        self.tablePrecision = tablePrecision ?? (precision == .f32 ? .f32 : .f16)
    }

    /// Decoder layers `range` as a stack.
    public func loadStack(_ range: Range<Int>) throws -> LayerStack {
        guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= config.layerCount else {
            throw ModelConfigError.invalid(key: "layerRange", value: "\(range)", reason: "must lie within [0, \(config.layerCount))")
        }
        return LayerStack(config: config, layers: try range.map(loadLayer))
    }

    public func loadLayer(_ i: Int) throws -> DecoderLayer {
        let c = config, h = c.hiddenSize, qw = c.heads * c.headDim, kw = c.kvHeads * c.headDim
        typealias M = CanonicalName.Module
        func w(_ m: M, _ rows: Int, _ cols: Int) throws -> LinearWeight { try linear(CanonicalName.weight(i, m), rows, cols) }
        func norm(_ m: M) throws -> [Float] { try vector(CanonicalName.weight(i, m), h) }
        func bias(_ m: M, _ n: Int) throws -> [Float]? { c.attentionBias ? try vector(CanonicalName.bias(i, m), n) : nil }
        return DecoderLayer(
            index: i, attentionNorm: try norm(.inputNorm), mlpNorm: try norm(.postAttentionNorm),
            q: try w(.qProj, qw, h), k: try w(.kProj, kw, h), v: try w(.vProj, kw, h), o: try w(.oProj, h, qw),
            qBias: try bias(.qProj, qw), kBias: try bias(.kProj, kw), vBias: try bias(.vProj, kw),
            gate: try w(.gateProj, c.intermediateSize, h), up: try w(.upProj, c.intermediateSize, h),
            down: try w(.downProj, h, c.intermediateSize))
    }

    public func loadEmbedding() throws -> EmbeddingTable {
        EmbeddingTable(matrix: try table(CanonicalName.embedTokens))
    }

    /// The output head; with tied embeddings, `embedding`'s matrix (loaded if not given).
    public func loadHead(sharing embedding: EmbeddingTable? = nil) throws -> LinearWeight {
        if config.tiedEmbeddings {
            return try (embedding ?? loadEmbedding()).matrix
        }
        return try table(CanonicalName.lmHead)
    }

    /// A (vocab, hidden) table — embedding or head — in `tablePrecision`.
    func table(_ name: String) throws -> LinearWeight {
        let t = try source.weights.tensor(name)
        let rows = config.vocabSize, cols = config.hiddenSize
        guard t.shape == [rows, cols] else {
            throw WeightFileError.shapeMismatch(file: t.file, tensor: name, expected: [rows, cols], found: t.shape)
        }
        switch tablePrecision {
        case .f16:
            defer { t.releasePages() }
            return F16Matrix(rows: rows, cols: cols) { start, count, out in t.dequantizeRows(start, count: count, into: out) }
        case .f32: return try ModelLoader(source: source, precision: .f32, pool: pool).linear(name, rows, cols)
        case .fp8: return try ModelLoader(source: source, precision: .fp8, pool: pool).linear(name, rows, cols)
        }
    }

    public func loadFinalNorm() throws -> [Float] { try vector(CanonicalName.finalNorm, config.hiddenSize) }

    /// A 1-D tensor as f32.
    func vector(_ name: String, _ n: Int) throws -> [Float] {
        let t = try source.weights.tensor(name)
        guard t.shape == [n] else { throw WeightFileError.shapeMismatch(file: t.file, tensor: name, expected: [n], found: t.shape) }
        defer { t.releasePages() }
        return [Float](unsafeUninitializedCapacity: n) { buf, count in
            t.dequantizeRows(0, count: 1, into: buf.baseAddress!)
            count = n
        }
    }

    /// A linear weight (rows, cols) in the loader's precision.
    func linear(_ name: String, _ rows: Int, _ cols: Int) throws -> LinearWeight {
        let t = try source.weights.tensor(name)
        guard t.shape == [rows, cols] else {
            throw WeightFileError.shapeMismatch(file: t.file, tensor: name, expected: [rows, cols], found: t.shape)
        }
        switch precision {
        case .f32:
            defer { t.releasePages() }
            let m = F32Matrix(rows: rows, cols: cols)
            t.dequantizeRows(0, count: rows, into: m.values)
            return m
        case .fp8:
            if t.encoding == .e4m3, let s = t.blockScales { return try passThrough(t, scales: s) }
            defer { t.releasePages() }
            return BlockScaledFP8Matrix(rows: rows, cols: cols, pool: pool) { start, count, out in
                t.dequantizeRows(start, count: count, into: out)
            }
        }
    }

    /// An FP8 checkpoint tensor as it is: the codes read in place from the checkpoint's memory map
    /// (no copy; the matrix keeps the map alive), the small scale table copied bit for bit.
    func passThrough(_ t: StoredTensor, scales: UnsafeRawBufferPointer) throws -> BlockScaledFP8Matrix {
        let codes = t.bytes.bindMemory(to: UInt8.self).baseAddress!
        let m = if let owner = t.owner, t.rowOrder == .natural {
            BlockScaledFP8Matrix(rows: t.rows, cols: t.cols, mappedCodes: codes, owner: owner)
        } else {
            BlockScaledFP8Matrix(rows: t.rows, cols: t.cols)
        }
        let n = m.scaleRows * m.scaleColumns
        guard scales.count == n * 4, t.bytes.count == t.rows * t.cols else {
            throw WeightFileError.shapeMismatch(file: t.file, tensor: t.name + " (block scales)",
                                                expected: [m.scaleRows, m.scaleColumns], found: [scales.count / 4])
        }
        if m.codes != UnsafeMutablePointer(mutating: codes) { m.codes.update(from: codes, count: t.rows * t.cols) }
        // The kernels read the NaN codes S.1111.111 as ±480: refuse them (this pass also brings
        // every mapped page in, so a loaded slice is resident).
        if let i = m.firstNaNCode() {
            throw WeightFileError.malformedTensor(file: t.file, tensor: t.name,
                                                  reason: "E4M3 NaN code at row \(i / t.cols), column \(i % t.cols)")
        }
        for i in 0..<n { m.scales[i] = scales.loadUnaligned(fromByteOffset: i * 4, as: Float.self) }
        return m
    }
}
