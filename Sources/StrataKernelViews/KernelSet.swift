/// The instruction-set variants the kernels are compiled for.
public enum KernelISA: String, CaseIterable, Sendable, Comparable {
    /// The toolchain's baseline (x86-64: SSE2, fma and f16 conversion in software; arm64: NEON).
    case generic
    /// x86-64-v3: AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE.
    case avx2
    /// x86-64-v4: v3 plus AVX-512 F/BW/CD/DQ/VL.
    case avx512

    public static func < (a: KernelISA, b: KernelISA) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Every hot loop of the engine, compiled for one ISA. All variants run the same Swift source
/// (Sources/StrataKernelsShared) — explicit fma, fixed reduction trees, no reassociation — so
/// every entry point returns bit-identical results on every variant; only the speed differs.
///
/// Pointers are row-major; shapes as in the comments. Entry points that take a row range compute
/// only those output rows (the caller splits rows over threads).
public struct KernelSet: Sendable {
    public let isa: KernelISA

    // FP8 linears. x pre-scaled by `fp8Prescale` (x·2^64, rows zero-padded to `stride`).
    /// y[r] for r in range; x (cols,) pre-scaled.
    public let fp8Gemv: @Sendable (FP8View, Range<Int>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    /// Y[b, r] for r in range, every b < batch; x (batch, stride) pre-scaled, y (batch, rows).
    public let fp8GemmStreaming: @Sendable (FP8View, Range<Int>, UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float>, StreamingKernel) -> Void
    /// Y[b, r] for r in range; x packed block-major (scaleColumns, batch, 128), y (batch, rows).
    public let fp8GemmTiled: @Sendable (FP8View, Range<Int>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void

    // f16 and f32 linears.
    /// y[r] for r in range; x (cols,).
    public let f16Gemv: @Sendable (F16View, Range<Int>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    /// Y[b, r] for r in range; x (batch, cols), y (batch, rows).
    public let f16Rows: @Sendable (F16View, Range<Int>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
    /// Y[b, r] for r in range; x (batch, cols), y (batch, rows).
    public let f32Rows: @Sendable (F32View, Range<Int>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
    /// dst[i] = f16(src[i]), round to nearest even.
    public let f16FromF32: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float16>, Int) -> Void
    /// (f16 values at any alignment, count, out): out[i] = f32(src[i]), exact (checkpoint loading).
    public let f16ToF32: @Sendable (UnsafeRawPointer, Int, UnsafeMutablePointer<Float>) -> Void

    // Attention: one token × a range of KV heads (see StrataKernels' `causalAttention`).
    /// (shape, token, kv heads, q, keys, values, scores scratch, out)
    public let attend: @Sendable (AttentionShape, Int, Range<Int>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                  UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void

    // Elementwise.
    /// (x, weight, n, eps, out): out = x / sqrt(mean(x²) + eps) · weight; out may alias x.
    public let rmsNorm: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int, Float, UnsafeMutablePointer<Float>) -> Void
    /// (x, heads, headDim, cos, sin): rotate-half RoPE in place.
    public let applyRotaryHalf: @Sendable (UnsafeMutablePointer<Float>, Int, Int, UnsafePointer<Float>, UnsafePointer<Float>) -> Void
    public let vectorExp: @Sendable (UnsafeMutablePointer<Float>, Int) -> Void
    public let vectorLogSumExp: @Sendable (UnsafePointer<Float>, Int) -> Float
    public let siluMul: @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void
    public let softmax: @Sendable (UnsafeMutablePointer<Float>, Int) -> Void
    public let argmax: @Sendable (UnsafePointer<Float>, Int) -> Int

    // The FP8 quantizer (load time of any non-FP8 checkpoint).
    /// (block, rows, cols, row stride) → the block's scale by the MSE search.
    public let fp8BlockScale: @Sendable (UnsafePointer<Float>, Int, Int, Int) -> Float
    /// (tile (n, cols) f32, n, cols, first row, codes, scales): rows [first, first+n) quantized.
    public let fp8QuantizeTile: @Sendable (UnsafePointer<Float>, Int, Int, Int, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>) -> Void

    /// Σ p[0..<count] (count a multiple of 64), the read-bandwidth probe of `strata bench kernels`:
    /// the same loads the variant's GEMV can issue, no arithmetic to speak of.
    public let readSum: @Sendable (UnsafePointer<Float>, Int) -> Float

    public init(
        isa: KernelISA,
        fp8Gemv: @escaping @Sendable (FP8View, Range<Int>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
        fp8GemmStreaming: @escaping @Sendable (FP8View, Range<Int>, UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float>, StreamingKernel) -> Void,
        fp8GemmTiled: @escaping @Sendable (FP8View, Range<Int>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void,
        f16Gemv: @escaping @Sendable (F16View, Range<Int>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
        f16Rows: @escaping @Sendable (F16View, Range<Int>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void,
        f32Rows: @escaping @Sendable (F32View, Range<Int>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void,
        f16FromF32: @escaping @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float16>, Int) -> Void,
        f16ToF32: @escaping @Sendable (UnsafeRawPointer, Int, UnsafeMutablePointer<Float>) -> Void,
        attend: @escaping @Sendable (AttentionShape, Int, Range<Int>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                     UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
        rmsNorm: @escaping @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int, Float, UnsafeMutablePointer<Float>) -> Void,
        applyRotaryHalf: @escaping @Sendable (UnsafeMutablePointer<Float>, Int, Int, UnsafePointer<Float>, UnsafePointer<Float>) -> Void,
        vectorExp: @escaping @Sendable (UnsafeMutablePointer<Float>, Int) -> Void,
        vectorLogSumExp: @escaping @Sendable (UnsafePointer<Float>, Int) -> Float,
        siluMul: @escaping @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void,
        softmax: @escaping @Sendable (UnsafeMutablePointer<Float>, Int) -> Void,
        argmax: @escaping @Sendable (UnsafePointer<Float>, Int) -> Int,
        fp8BlockScale: @escaping @Sendable (UnsafePointer<Float>, Int, Int, Int) -> Float,
        fp8QuantizeTile: @escaping @Sendable (UnsafePointer<Float>, Int, Int, Int, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>) -> Void,
        readSum: @escaping @Sendable (UnsafePointer<Float>, Int) -> Float
    ) {
        self.isa = isa
        self.fp8Gemv = fp8Gemv; self.fp8GemmStreaming = fp8GemmStreaming; self.fp8GemmTiled = fp8GemmTiled
        self.f16Gemv = f16Gemv; self.f16Rows = f16Rows; self.f32Rows = f32Rows; self.f16FromF32 = f16FromF32; self.f16ToF32 = f16ToF32
        self.attend = attend
        self.rmsNorm = rmsNorm; self.applyRotaryHalf = applyRotaryHalf
        self.vectorExp = vectorExp; self.vectorLogSumExp = vectorLogSumExp; self.siluMul = siluMul
        self.softmax = softmax; self.argmax = argmax; self.readSum = readSum
        self.fp8BlockScale = fp8BlockScale; self.fp8QuantizeTile = fp8QuantizeTile
    }
}
