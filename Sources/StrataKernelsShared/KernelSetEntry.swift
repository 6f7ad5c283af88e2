import StrataKernelViews

#if STRATA_ISA_AVX512
let compiledISA = KernelISA.avx512
#elseif STRATA_ISA_AVX2
let compiledISA = KernelISA.avx2
#else
let compiledISA = KernelISA.generic
#endif

/// This module's kernels. The same source is compiled once per ISA (Package.swift gives each
/// module its `-march` and its `STRATA_ISA_*` condition); StrataKernels picks one set at run time.
public let kernelSet = KernelSet(
    isa: compiledISA,
    fp8Gemv: { w, range, x, y in w.gemv(rows: range, x: x, y: y) },
    fp8GemmStreaming: { w, range, x, stride, batch, y, kernel in
        w.gemmStreaming(rows: range, x: x, stride: stride, batch: batch, y: y, kernel: kernel)
    },
    fp8GemmTiled: { w, range, xp, batch, y in w.gemm(rows: range, packed: xp, batch: batch, y: y) },
    f16Gemv: { w, range, x, y in w.gemv(rows: range, x: x, y: y) },
    f16Rows: { w, range, x, batch, y in w.rows(range, x: x, batch: batch, y: y) },
    f32Rows: { w, range, x, batch, y in w.rows(range, x: x, batch: batch, y: y) },
    f16FromF32: { src, dst, n in f16FromF32(src, dst, count: n) },
    f16ToF32: { src, n, out in f16ToF32(src, count: n, into: out) },
    attend: { shape, token, kv, q, keys, values, scores, out in
        attend(shape, token: token, kvHeads: kv, q: q, keys: keys, values: values, scores: scores, out: out)
    },
    rmsNorm: { x, weight, n, eps, out in rmsNorm(x, weight: weight, count: n, eps: eps, into: out) },
    applyRotaryHalf: { x, heads, headDim, cos, sin in applyRotaryHalf(x, heads: heads, headDim: headDim, cos: cos, sin: sin) },
    vectorExp: { x, n in vectorExp(x, count: n) },
    vectorLogSumExp: { x, n in vectorLogSumExp(x, count: n) },
    siluMul: { gate, up, n in siluMul(gate, up, count: n) },
    softmax: { x, n in softmax(x, count: n) },
    argmax: { x, n in argmax(x, count: n) },
    fp8BlockScale: { x, rows, cols, stride in fp8BlockScale(x, rows: rows, cols: cols, stride: stride) },
    fp8QuantizeTile: { tile, n, cols, r0, codes, scales in
        fp8QuantizeTile(tile, rowCount: n, cols: cols, firstRow: r0, codes: codes, scales: scales)
    },
    readSum: { p, n in readSum(p, count: n) }
)

/// Σ p[0..<count], count a multiple of 64: 8 independent 8-lane accumulators, the probe's
/// historical shape. (16-lane loads read 5–10% slower on AMD Zen 4 in `strata bench kernels`, so
/// they would flatter the ratio; the fastest plain read is the honest bound.)
func readSum(_ p: UnsafePointer<Float>, count: Int) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
    var i = 0
    while i < count {
        a0 += lanes(p + i); a1 += lanes(p + (i &+ 8)); a2 += lanes(p + (i &+ 16)); a3 += lanes(p + (i &+ 24))
        a4 += lanes(p + (i &+ 32)); a5 += lanes(p + (i &+ 40)); a6 += lanes(p + (i &+ 48)); a7 += lanes(p + (i &+ 56))
        i &+= 64
    }
    return laneSum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)))
}
