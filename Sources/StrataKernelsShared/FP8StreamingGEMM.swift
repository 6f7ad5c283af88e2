import StrataKernelViews

/// FP8 small-batch GEMM (batched decode): X (batch, cols) @ W^T -> Y (batch, rows) straight from
/// the codes, as the GEMV does.
///
/// Each pass decodes 2 rows' codes in registers (`e4m3Fake32`, 3 integer ops per vector) and
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
        let totals = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: batch &* 2)
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
        totals: UnsafeMutablePointer<SIMD16<Float>>, y: UnsafeMutablePointer<Float>
    ) {
        typealias V = FP8GemmVector
        let nb = scaleColumns
        let w0 = codes + r0 &* cols, w1 = codes + r1 &* cols
        let s0 = scales + (r0 / 128) &* nb, s1 = scales + (r1 / 128) &* nb
        totals.initialize(repeating: SIMD16(), count: batch &* 2)
        let ahead = FP8View.prefetchDistance
        for cb in 0..<nb {
            let c0 = cb &* 128, width = min(128, cols &- c0)
            let p0 = UnsafeRawPointer(w0 + (c0 &+ ahead)), p1 = UnsafeRawPointer(w1 + (c0 &+ ahead))
            prefetch(p0); prefetch(p0 + 64); prefetch(p1); prefetch(p1 + 64)
            let k0 = s0[cb] * fp8BlockScaleFactor, k1 = s1[cb] * fp8BlockScaleFactor
            for half in 0..<V.halves {
                let o = half &* V.scalarCount
                var b = 0
                while b &+ 4 <= batch {
                    stream2x4(V.self, w0 + c0, w1 + c0, x + (b &* stride &+ c0), xStride: stride, width: width, offset: o,
                              into: totals + b &* 2, k0, k1)
                    b &+= 4
                }
                while b < batch {
                    stream2x1(V.self, w0 + c0, w1 + c0, x + (b &* stride &+ c0), width: width, offset: o, into: totals + b &* 2, k0, k1)
                    b &+= 1
                }
            }
        }
        for b in 0..<batch {
            let t = totals + b &* 2, out = y + b &* rows
            out[r0] = laneSum16(t[0]); out[r1] = laneSum16(t[1])
        }
    }
}

/// The codes of one vector (lanes `offset ..< offset + V.count` of the 16-column vector at `j`)
/// of a row with `width` columns in its block: full, partial, or none past the ragged end.
@inline(__always)
func codeVector<V: FP8Vector>(_ w: UnsafePointer<UInt8>, column c: Int, width: Int) -> V {
    let n = width &- c
    return n >= V.scalarCount ? V.fake32(w + c) : V.fake32Partial(w + c, max(n, 0))
}

/// One 128-wide block of 2 rows' codes × 4 tokens, lanes `offset ..< offset + V.count` of each
/// 16-column vector: 8 accumulators + 2 decoded weights + 4 activations (+ the decode mask) =
/// 15 registers. t (4, 2) 16-lane totals: t[token·2 + i] = fma(acc(token, i), k_i, t[…]) on the
/// lanes computed. x rows are zero-padded past the matrix's columns to a multiple of 16.
@inline(__always)
private func stream2x4<V: FP8Vector>(
    _: V.Type, _ w0: UnsafePointer<UInt8>, _ w1: UnsafePointer<UInt8>, _ x: UnsafePointer<Float>, xStride: Int, width: Int,
    offset o: Int, into t: UnsafeMutablePointer<SIMD16<Float>>, _ k0: Float, _ k1: Float
) {
    let x0 = x, x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride
    var a00 = V(), a01 = V(), a10 = V(), a11 = V(), a20 = V(), a21 = V(), a30 = V(), a31 = V()
    var j = 0
    while j &+ 16 <= width {
        let c = j &+ o
        let v0 = V.fake32(w0 + c), v1 = V.fake32(w1 + c)
        let y0 = V.load(x0 + c), y1 = V.load(x1 + c), y2 = V.load(x2 + c), y3 = V.load(x3 + c)
        a00.addProduct(v0, y0); a01.addProduct(v1, y0); a10.addProduct(v0, y1); a11.addProduct(v1, y1)
        a20.addProduct(v0, y2); a21.addProduct(v1, y2); a30.addProduct(v0, y3); a31.addProduct(v1, y3)
        j &+= 16
    }
    if j < width {
        let c = j &+ o
        let v0: V = codeVector(w0, column: c, width: width), v1: V = codeVector(w1, column: c, width: width)
        let y0 = V.load(x0 + c), y1 = V.load(x1 + c), y2 = V.load(x2 + c), y3 = V.load(x3 + c)
        a00.addProduct(v0, y0); a01.addProduct(v1, y0); a10.addProduct(v0, y1); a11.addProduct(v1, y1)
        a20.addProduct(v0, y2); a21.addProduct(v1, y2); a30.addProduct(v0, y3); a31.addProduct(v1, y3)
    }
    accumulate(a00, scale: k0, into: t, offset: o); accumulate(a01, scale: k1, into: t + 1, offset: o)
    accumulate(a10, scale: k0, into: t + 2, offset: o); accumulate(a11, scale: k1, into: t + 3, offset: o)
    accumulate(a20, scale: k0, into: t + 4, offset: o); accumulate(a21, scale: k1, into: t + 5, offset: o)
    accumulate(a30, scale: k0, into: t + 6, offset: o); accumulate(a31, scale: k1, into: t + 7, offset: o)
}

/// One 128-wide block of 2 rows' codes × 1 token (batch remainders), lanes as in `stream2x4`.
@inline(__always)
private func stream2x1<V: FP8Vector>(
    _: V.Type, _ w0: UnsafePointer<UInt8>, _ w1: UnsafePointer<UInt8>, _ x: UnsafePointer<Float>, width: Int,
    offset o: Int, into t: UnsafeMutablePointer<SIMD16<Float>>, _ k0: Float, _ k1: Float
) {
    var a0 = V(), a1 = V()
    var j = 0
    while j &+ 16 <= width {
        let c = j &+ o, y = V.load(x + c)
        a0.addProduct(V.fake32(w0 + c), y); a1.addProduct(V.fake32(w1 + c), y)
        j &+= 16
    }
    if j < width {
        let c = j &+ o, y = V.load(x + c)
        let v0: V = codeVector(w0, column: c, width: width), v1: V = codeVector(w1, column: c, width: width)
        a0.addProduct(v0, y); a1.addProduct(v1, y)
    }
    accumulate(a0, scale: k0, into: t, offset: o); accumulate(a1, scale: k1, into: t + 1, offset: o)
}
