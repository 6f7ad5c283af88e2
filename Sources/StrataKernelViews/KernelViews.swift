/// What the kernel modules see of the weights: plain pointer views, no ownership.
///
/// The kernels are compiled once per instruction set (StrataKernelsGeneric, StrataKernelsAVX2,
/// StrataKernelsAVX512, one source: Sources/StrataKernelsShared) and reached through a
/// `KernelSet` of entry points; the matrices that own the memory live in StrataKernels. This
/// module holds only what both sides must agree on, and is compiled for the baseline ISA.

/// FP8 E4M3 codes with one f32 multiplier per 128×128 block (DeepSeek-V3 layout).
public struct FP8View: @unchecked Sendable {
    /// (rows, cols) codes, row-major.
    public let codes: UnsafePointer<UInt8>
    /// (⌈rows/128⌉, ⌈cols/128⌉) multipliers, row-major.
    public let scales: UnsafePointer<Float>
    public let rows: Int
    public let cols: Int
    public var scaleColumns: Int { (cols &+ 127) / 128 }

    public init(codes: UnsafePointer<UInt8>, scales: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.codes = codes; self.scales = scales; self.rows = rows; self.cols = cols
    }

    /// The GEMV's activation pre-scale and the FP8 kernels' block-scale factor (powers of two,
    /// exact; see the canonical reduction in Sources/StrataKernelsShared/Lanes.swift).
    /// (Inlinable computed constants: they fold into the kernels' loops in every module.)
    @inlinable public static var activationScale: Float { 0x1p64 }
    @inlinable public static var blockScaleFactor: Float { 0x1p56 }
    /// E4M3's largest finite magnitude.
    @inlinable public static var e4m3Max: Float { 448 }
    /// The quantizer's scale candidates above amax/448: base · (1 + k/128), k = 0…scaleSearchSteps.
    @inlinable public static var scaleSearchSteps: Int { 16 }

    /// Weight rows per converted tile of the tiled GEMM (a multiple of its micro-kernel's 3).
    public static let gemmTileRows = 24
    /// Largest batch the streaming GEMM serves; larger batches (prefill) take the tiled GEMM.
    /// Measured on 8192² (`strata bench kernels --gemm-batches 16,24,32,48,64 --gemm-only`, 2-core
    /// Zen 3 VM): streaming vs tiled 94 vs 68 GFLOP/s at 24, 99 vs 72 at 32, 94 vs 85 at 48, even
    /// or behind at 64 (2 threads; 1 thread alike).
    public static let streamingBatchLimit = 48
    /// Smallest batch whose groups of 4 tokens take the streaming GEMM's 3 × 4 passes.
    public static let tripleBatchMin = 12
}

/// f16 values, (rows, cols) row-major.
public struct F16View: @unchecked Sendable {
    public let values: UnsafePointer<Float16>
    public let rows: Int
    public let cols: Int
    public init(values: UnsafePointer<Float16>, rows: Int, cols: Int) {
        self.values = values; self.rows = rows; self.cols = cols
    }
}

/// f32 values, (rows, cols) row-major.
public struct F32View: @unchecked Sendable {
    public let values: UnsafePointer<Float>
    public let rows: Int
    public let cols: Int
    public init(values: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.values = values; self.rows = rows; self.cols = cols
    }
}

/// Which passes the streaming FP8 GEMM uses (`.automatic` everywhere but the side-by-side bench).
public enum StreamingKernel: Sendable {
    case automatic, pairs, triples

    /// Whether groups of 4 tokens take 3-row passes at this batch.
    public func usesTriples(batch: Int) -> Bool {
        self == .triples || (self == .automatic && batch >= FP8View.tripleBatchMin)
    }
}

/// One attention job's geometry: a sequence's new tokens start at position `start`.
public struct AttentionShape: Sendable {
    public let start, heads, kvHeads, headDim, group: Int
    public let scale: Float
    public var kvStride: Int { kvHeads &* headDim }
    public init(start: Int, heads: Int, kvHeads: Int, headDim: Int, group: Int, scale: Float) {
        self.start = start; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
        self.group = group; self.scale = scale
    }
}
