import StrataKernelViews

/// The streaming GEMM's kernel for larger batches: 3 rows × 4 tokens per pass.
///
/// Batched decode is compute-bound on the decode-and-fma loop, and on the AVX2 machine we measure
/// (2-core AMD Zen 3 VM, no PMU) that loop runs at about half the fma ports' rate: loads and the
/// decode's shuffles/shifts per fma are what it pays for. 2 rows × 4 tokens costs 2 code loads +
/// 2 decodes + 4 activation loads per 8 fmas; 3 rows × 4 tokens 3 + 3 + 4 per 12. 12
/// accumulators, 3 decoded weights and 1 activation take all 16 ymm registers.
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
        let nb = scaleColumns
        let w0 = UnsafePointer(codes + r0 &* cols), w1 = UnsafePointer(codes + r1 &* cols), w2 = UnsafePointer(codes + r2 &* cols)
        let s0 = UnsafePointer(scales + (r0 / 128) &* nb), s1 = UnsafePointer(scales + (r1 / 128) &* nb)
        let s2 = UnsafePointer(scales + (r2 / 128) &* nb)
        var b = 0
        while b &+ 4 <= batch {
            var t: Totals12 = (SIMD8(), SIMD8(), SIMD8(), SIMD8(), SIMD8(), SIMD8(), SIMD8(), SIMD8(), SIMD8(), SIMD8(), SIMD8(), SIMD8())
            for cb in 0..<nb {
                let c0 = cb &* 128, width = min(128, cols &- c0)
                stream3x4(w0 + c0, w1 + c0, w2 + c0, x + (b &* stride &+ c0), xStride: stride, width: width, into: &t,
                          SIMD8(repeating: s0[cb] * fp8BlockScaleFactor), SIMD8(repeating: s1[cb] * fp8BlockScaleFactor),
                          SIMD8(repeating: s2[cb] * fp8BlockScaleFactor))
            }
            let o = y + b &* rows
            o[r0] = laneSum(t.0); o[r1] = laneSum(t.1); o[r2] = laneSum(t.2)
            o[rows &+ r0] = laneSum(t.3); o[rows &+ r1] = laneSum(t.4); o[rows &+ r2] = laneSum(t.5)
            o[2 &* rows &+ r0] = laneSum(t.6); o[2 &* rows &+ r1] = laneSum(t.7); o[2 &* rows &+ r2] = laneSum(t.8)
            o[3 &* rows &+ r0] = laneSum(t.9); o[3 &* rows &+ r1] = laneSum(t.10); o[3 &* rows &+ r2] = laneSum(t.11)
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

/// Running totals of 3 rows × 4 tokens, token-major: (t0r0, t0r1, t0r2, t1r0, …).
typealias Totals12 = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
                      SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

/// One 128-wide block of 3 rows' codes × 4 tokens (x rows zero-padded past the columns; ragged
/// codes read partially): t<token><row> = fma(acc, k_row, t).
@inline(__always)
private func stream3x4(
    _ w0: UnsafePointer<UInt8>, _ w1: UnsafePointer<UInt8>, _ w2: UnsafePointer<UInt8>, _ x: UnsafePointer<Float>,
    xStride: Int, width: Int, into t: inout Totals12, _ k0: SIMD8<Float>, _ k1: SIMD8<Float>, _ k2: SIMD8<Float>
) {
    let x0 = x, x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>(), a32 = SIMD8<Float>()
    // One loop with the ragged block's check inside, on purpose: with a separate tail LLVM hoists
    // the 4 activation loads and spills 4 accumulators to the stack (slower than the 2×4 kernel).
    var j = 0
    while j < width {
        let n = width &- j
        let v0 = n >= 8 ? e4m3Fake32(w0 + j) : e4m3Fake32Partial(w0 + j, n)
        let v1 = n >= 8 ? e4m3Fake32(w1 + j) : e4m3Fake32Partial(w1 + j, n)
        let v2 = n >= 8 ? e4m3Fake32(w2 + j) : e4m3Fake32Partial(w2 + j, n)
        var y = lanes(x0 + j)
        a00.addProduct(v0, y); a01.addProduct(v1, y); a02.addProduct(v2, y)
        y = lanes(x1 + j)
        a10.addProduct(v0, y); a11.addProduct(v1, y); a12.addProduct(v2, y)
        y = lanes(x2 + j)
        a20.addProduct(v0, y); a21.addProduct(v1, y); a22.addProduct(v2, y)
        y = lanes(x3 + j)
        a30.addProduct(v0, y); a31.addProduct(v1, y); a32.addProduct(v2, y)
        j &+= 8
    }
    t.0.addProduct(a00, k0); t.1.addProduct(a01, k1); t.2.addProduct(a02, k2)
    t.3.addProduct(a10, k0); t.4.addProduct(a11, k1); t.5.addProduct(a12, k2)
    t.6.addProduct(a20, k0); t.7.addProduct(a21, k1); t.8.addProduct(a22, k2)
    t.9.addProduct(a30, k0); t.10.addProduct(a31, k1); t.11.addProduct(a32, k2)
}
