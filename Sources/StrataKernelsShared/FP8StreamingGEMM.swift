import StrataKernelViews

/// FP8 small-batch GEMM (batched decode): X (batch, cols) @ W^T -> Y (batch, rows) straight from
/// the codes, as the GEMV does.
///
/// Each pass decodes 2 rows' codes in registers (`e4m3Fake32`, 3 integer ops per 8 codes) and
/// multiplies them into the tokens, so the weights stream from memory in 2 long contiguous runs
/// (the GEMV has 4); from `tripleBatchMin` tokens on, 3 rows × 4 tokens (FP8StreamingTriples.swift).
/// The tiled GEMM (FP8GEMM.swift) instead gathers 128-byte pieces of 24 rows per tile: the hardware prefetcher cannot follow 24 short streams, and a
/// small batch has too little arithmetic to hide the load latency (measured: 72% of its time on
/// one load at batch 2). `strata bench kernels` prints both kernels side by side per batch size.
///
/// Per (token, row) the operations are the GEMV's — the canonical reduction of Lanes.swift with
/// w = decode·2^-120 and x·2^64 — so results are bit-identical to batch 1 and to the tiled GEMM.

extension FP8View {
    /// Bytes ahead of each row stream that a pass prefetches (one 128-wide block of 2 rows = 4
    /// cache lines per block). Rows of the model's matrices are short (576 codes for SmolLM2), so
    /// the hardware prefetcher restarts often; with the lines requested ≈ 3 rows early, a batch-8
    /// pass over DRAM-resident weights ran 4% faster (paired passes, prefetch on/off alternating).
    static let prefetchDistance = 4096

    /// Y[b, r] for r in `range` and every b; x pre-scaled (x·2^64, rows zero-padded to `stride`), y (batch, rows).
    /// From `tripleBatchMin` tokens on (or with `.triples`), those in whole groups of 4 take 3-row
    /// passes (FP8StreamingTriples.swift) and the other 1–3 `gemmPairs`; otherwise every token
    /// takes `gemmPairs`.
    func gemmStreaming(rows range: Range<Int>, x: UnsafePointer<Float>, stride: Int, batch: Int, y: UnsafeMutablePointer<Float>,
                       kernel: StreamingKernel = .automatic) {
        let quads = kernel.usesTriples(batch: batch) ? batch & ~3 : 0
        if quads > 0 { gemmStreamingTriples(rows: range, x: x, stride: stride, batch: quads, y: y) }
        if batch > quads {
            gemmPairs(rows: range, x: x + quads &* stride, stride: stride, batch: batch &- quads, y: y + quads &* rows)
        }
    }

    /// `gemmStreaming` in 2-row passes: the range is cut into 2 contiguous halves and pass k takes
    /// row k of each (2 long streams). y (batch, rows) with row stride `rows`.
    func gemmPairs(rows range: Range<Int>, x: UnsafePointer<Float>, stride: Int, batch: Int, y: UnsafeMutablePointer<Float>) {
        let totals = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: batch &* 2)
        defer { totals.deallocate() }
        let h = range.count / 2, lo = range.lowerBound
        for k in 0..<h { streamPair(lo &+ k, lo &+ h &+ k, x: x, stride: stride, batch: batch, totals: totals, y: y) }
        if range.count & 1 == 1 {
            let r = range.upperBound &- 1
            for b in 0..<batch { y[b &* rows &+ r] = gemv1(r, x + b &* stride) }
        }
    }

    /// Rows r0 and r1 for every token; totals (batch, 2) is scratch.
    @inline(__always)
    private func streamPair(
        _ r0: Int, _ r1: Int, x: UnsafePointer<Float>, stride: Int, batch: Int,
        totals: UnsafeMutablePointer<SIMD8<Float>>, y: UnsafeMutablePointer<Float>
    ) {
        let nb = scaleColumns
        let w0 = UnsafePointer(codes + r0 &* cols), w1 = UnsafePointer(codes + r1 &* cols)
        let s0 = UnsafePointer(scales + (r0 / 128) &* nb), s1 = UnsafePointer(scales + (r1 / 128) &* nb)
        totals.initialize(repeating: SIMD8(), count: batch &* 2)
        let ahead = FP8View.prefetchDistance
        for cb in 0..<nb {
            let c0 = cb &* 128, width = min(128, cols &- c0)
            let p0 = UnsafeRawPointer(w0 + (c0 &+ ahead)), p1 = UnsafeRawPointer(w1 + (c0 &+ ahead))
            prefetch(p0); prefetch(p0 + 64); prefetch(p1); prefetch(p1 + 64)
            let k0 = SIMD8(repeating: s0[cb] * fp8BlockScaleFactor), k1 = SIMD8(repeating: s1[cb] * fp8BlockScaleFactor)
            var b = 0
            while b &+ 4 <= batch {
                stream2x4(w0 + c0, w1 + c0, x + (b &* stride &+ c0), xStride: stride, width: width,
                          into: totals + b &* 2, k0, k1)
                b &+= 4
            }
            while b < batch {
                stream2x1(w0 + c0, w1 + c0, x + (b &* stride &+ c0), width: width, into: totals + b &* 2, k0, k1)
                b &+= 1
            }
        }
        for b in 0..<batch {
            let t = totals + b &* 2, out = y + b &* rows
            out[r0] = laneSum(t[0]); out[r1] = laneSum(t[1])
        }
    }
}

/// One 128-wide block of 2 rows' codes × 4 tokens: 8 accumulators + 2 decoded weights + 4
/// activations + the decode mask = 15 ymm registers (3 rows × 4 tokens needs 20 and spills).
/// t (4, 2): t[token·2 + i] = fma(acc(token, i), k_i, t[token·2 + i]). x rows are zero-padded
/// past the matrix's columns; the ragged codes are read partially.
@inline(__always)
private func stream2x4(
    _ w0: UnsafePointer<UInt8>, _ w1: UnsafePointer<UInt8>, _ x: UnsafePointer<Float>, xStride: Int, width: Int,
    into t: UnsafeMutablePointer<SIMD8<Float>>, _ k0: SIMD8<Float>, _ k1: SIMD8<Float>
) {
    let x0 = x, x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
    var j = 0
    while j &+ 8 <= width {
        let v0 = e4m3Fake32(w0 + j), v1 = e4m3Fake32(w1 + j)
        let y0 = lanes(x0 + j), y1 = lanes(x1 + j), y2 = lanes(x2 + j), y3 = lanes(x3 + j)
        a00.addProduct(v0, y0); a01.addProduct(v1, y0); a10.addProduct(v0, y1); a11.addProduct(v1, y1)
        a20.addProduct(v0, y2); a21.addProduct(v1, y2); a30.addProduct(v0, y3); a31.addProduct(v1, y3)
        j &+= 8
    }
    if j < width {
        let n = width &- j
        let v0 = e4m3Fake32Partial(w0 + j, n), v1 = e4m3Fake32Partial(w1 + j, n)
        let y0 = lanes(x0 + j), y1 = lanes(x1 + j), y2 = lanes(x2 + j), y3 = lanes(x3 + j)
        a00.addProduct(v0, y0); a01.addProduct(v1, y0); a10.addProduct(v0, y1); a11.addProduct(v1, y1)
        a20.addProduct(v0, y2); a21.addProduct(v1, y2); a30.addProduct(v0, y3); a31.addProduct(v1, y3)
    }
    t[0].addProduct(a00, k0); t[1].addProduct(a01, k1); t[2].addProduct(a10, k0); t[3].addProduct(a11, k1)
    t[4].addProduct(a20, k0); t[5].addProduct(a21, k1); t[6].addProduct(a30, k0); t[7].addProduct(a31, k1)
}

/// One 128-wide block of 2 rows' codes × 1 token (batch remainders).
@inline(__always)
private func stream2x1(
    _ w0: UnsafePointer<UInt8>, _ w1: UnsafePointer<UInt8>, _ x: UnsafePointer<Float>, width: Int,
    into t: UnsafeMutablePointer<SIMD8<Float>>, _ k0: SIMD8<Float>, _ k1: SIMD8<Float>
) {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    var j = 0
    while j &+ 8 <= width {
        let y = lanes(x + j)
        a0.addProduct(e4m3Fake32(w0 + j), y); a1.addProduct(e4m3Fake32(w1 + j), y)
        j &+= 8
    }
    if j < width {
        let n = width &- j, y = lanes(x + j)
        a0.addProduct(e4m3Fake32Partial(w0 + j, n), y); a1.addProduct(e4m3Fake32Partial(w1 + j, n), y)
    }
    t[0].addProduct(a0, k0); t[1].addProduct(a1, k1)
}
