import StrataKernelViews

/// The streaming GEMM's kernel for larger batches: 3 rows × 4 tokens per pass.
///
/// Batched decode is compute-bound on the decode-and-fma loop, and on the AVX2 machine we measure
/// (2-core AMD Zen 3 VM, no PMU) that loop runs at about half the fma ports' rate: loads and the
/// decode's shuffles/shifts per fma are what it pays for. 2 rows × 4 tokens costs 2 code loads +
/// 2 decodes + 4 activation loads per 8 fmas; 3 rows × 4 tokens 3 + 3 + 4 per 12. 12
/// accumulators, 3 decoded weights and 1 activation take all 16 ymm registers (AVX2 runs the 16
/// canonical lanes as two 8-lane halves; AVX-512 one 16-lane pass in 16 of its 32 registers).
///
/// Measured side by side (`strata bench kernels`, line `streaming_3x4_vs_2x4`: passes of the two
/// kernels alternate on one 8192×8192 weight, median of per-pair time ratios; > 1 = 3×4 faster):
/// batch 16: 1.11 (1 thread) – 1.29 (2 threads); batch 12: 1.17–1.25; batch 8: 0.94 (1 thread) –
/// 1.08 (2 threads); batch 4: 1.00–1.15; batches 5–7 lose (the 1–3 extra tokens need a second
/// pass over the weights). Hence `tripleBatchMin` = 12.
///
/// Per (token, row) the operations are the GEMV's (Lanes.swift), so results stay bit-identical
/// to batch 1 and to every other kernel (FP8LinearTests; the bench also checks both kernels'
/// outputs bit for bit).
extension FP8View {
    /// Y[b, r] for r in `range` and every b (batch ≥ 1); x pre-scaled.
    /// The range is cut into 3 contiguous thirds and pass k takes row k of each (3 long streams);
    /// the ≤ 2 rows left over take `gemv1` per token.
    func gemmStreamingTriples(rows range: Range<Int>, x: UnsafePointer<Float>, stride: Int, batch: Int, y: UnsafeMutablePointer<Float>) {
        let third = range.count / 3, lo = range.lowerBound
        for k in 0..<third {
            streamTriple(lo &+ k, lo &+ third &+ k, lo &+ 2 &* third &+ k, x: x, stride: stride, batch: batch, y: y)
        }
        for r in (lo &+ 3 &* third)..<range.upperBound {
            for b in 0..<batch { y[b &* rows &+ r] = gemv1(r, x + b &* stride) }
        }
    }

    /// Rows r0, r1, r2 for every token: groups of 4 tokens through `stream3x4`, the rest through
    /// `gemv1`.
    @inline(__always)
    private func streamTriple(_ r0: Int, _ r1: Int, _ r2: Int, x: UnsafePointer<Float>, stride: Int, batch: Int,
                              y: UnsafeMutablePointer<Float>) {
        typealias V = FP8GemmVector
        let nb = scaleColumns
        let w0 = codes + r0 &* cols, w1 = codes + r1 &* cols, w2 = codes + r2 &* cols
        let s0 = scales + (r0 / 128) &* nb, s1 = scales + (r1 / 128) &* nb, s2 = scales + (r2 / 128) &* nb
        // 16-lane running totals of 3 rows × 4 tokens, token-major (t0r0, t0r1, t0r2, t1r0, …).
        let t = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: 12)
        defer { t.deallocate() }
        var b = 0
        while b &+ 4 <= batch {
            t.initialize(repeating: SIMD16(), count: 12)
            for cb in 0..<nb {
                let c0 = cb &* 128, width = min(128, cols &- c0)
                let k = SIMD3(s0[cb], s1[cb], s2[cb]) * fp8BlockScaleFactor
                for half in 0..<V.halves {
                    stream3x4(V.self, w0 + c0, w1 + c0, w2 + c0, x + (b &* stride &+ c0), xStride: stride, width: width,
                              offset: half &* V.scalarCount, into: t, k)
                }
            }
            let o = y + b &* rows
            for token in 0..<4 {
                let out = o + token &* rows, tt = t + token &* 3
                out[r0] = laneSum16(tt[0]); out[r1] = laneSum16(tt[1]); out[r2] = laneSum16(tt[2])
            }
            b &+= 4
        }
        // The ≤ 3 tokens left: one row at a time (an inlined 3 × 1 kernel here makes LLVM spill
        // a decoded weight in the 3 × 4 loop above).
        while b < batch {
            let xb = x + b &* stride, o = y + b &* rows
            o[r0] = gemv1(r0, xb); o[r1] = gemv1(r1, xb); o[r2] = gemv1(r2, xb)
            b &+= 1
        }
    }
}

/// One 128-wide block of 3 rows' codes × 4 tokens, lanes `offset ..< offset + V.count` of each
/// 16-column vector (x rows zero-padded past the columns to a multiple of 16; ragged codes read
/// partially): t[token·3 + row] = fma(acc, k[row], t) on those lanes.
@inline(__always)
private func stream3x4<V: FP8Vector>(
    _: V.Type, _ w0: UnsafePointer<UInt8>, _ w1: UnsafePointer<UInt8>, _ w2: UnsafePointer<UInt8>, _ x: UnsafePointer<Float>,
    xStride: Int, width: Int, offset o: Int, into t: UnsafeMutablePointer<SIMD16<Float>>, _ k: SIMD3<Float>
) {
    let x0 = x, x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride
    var a00 = V(), a01 = V(), a02 = V(), a10 = V(), a11 = V(), a12 = V()
    var a20 = V(), a21 = V(), a22 = V(), a30 = V(), a31 = V(), a32 = V()
    // One loop with the ragged block's check inside, on purpose: with a separate tail LLVM hoists
    // the 4 activation loads and spills 4 accumulators to the stack (slower than the 2×4 kernel).
    var j = 0
    while j < width {
        let c = j &+ o
        let v0: V = codeVector(w0, column: c, width: width)
        let v1: V = codeVector(w1, column: c, width: width)
        let v2: V = codeVector(w2, column: c, width: width)
        var y = V.load(x0 + c)
        a00.addProduct(v0, y); a01.addProduct(v1, y); a02.addProduct(v2, y)
        y = V.load(x1 + c)
        a10.addProduct(v0, y); a11.addProduct(v1, y); a12.addProduct(v2, y)
        y = V.load(x2 + c)
        a20.addProduct(v0, y); a21.addProduct(v1, y); a22.addProduct(v2, y)
        y = V.load(x3 + c)
        a30.addProduct(v0, y); a31.addProduct(v1, y); a32.addProduct(v2, y)
        j &+= 16
    }
    accumulate(a00, scale: k[0], into: t, offset: o); accumulate(a01, scale: k[1], into: t + 1, offset: o)
    accumulate(a02, scale: k[2], into: t + 2, offset: o); accumulate(a10, scale: k[0], into: t + 3, offset: o)
    accumulate(a11, scale: k[1], into: t + 4, offset: o); accumulate(a12, scale: k[2], into: t + 5, offset: o)
    accumulate(a20, scale: k[0], into: t + 6, offset: o); accumulate(a21, scale: k[1], into: t + 7, offset: o)
    accumulate(a22, scale: k[2], into: t + 8, offset: o); accumulate(a30, scale: k[0], into: t + 9, offset: o)
    accumulate(a31, scale: k[1], into: t + 10, offset: o); accumulate(a32, scale: k[2], into: t + 11, offset: o)
}
