import StrataKernelViews

/// FP8 GEMM for prefill and batched decode: X (batch, cols) @ W^T -> Y (batch, rows).
///
/// Compute-bound: a tile of 24 weight rows × one 128-wide block is converted to f32 once (into an
/// L1-resident buffer) and reused for every token of the batch by the 3×4 micro-kernel. Per (token,
/// row) the floating-point operations are exactly those of the GEMV (Lanes.swift), so a token's
/// output never depends on the batch it shares.
extension FP8View {
    /// Tokens per pass over a tile.
    static let gemmTokenChunk = 16

    /// Y[b, r] for r in `range` and every b; xp from `packBlocks`, y (batch, rows).
    func gemm(rows range: Range<Int>, packed xp: UnsafePointer<Float>, batch: Int, y: UnsafeMutablePointer<Float>) {
        let tileRows = FP8View.gemmTileRows
        let tile = UnsafeMutableRawPointer.allocate(byteCount: tileRows &* 128 &* 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: tileRows &* 128)
        let totals = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: batch &* tileRows)
        let acc = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 12)
        defer { tile.deallocate(); totals.deallocate(); acc.deallocate() }

        var r0 = range.lowerBound
        while r0 < range.upperBound {
            let n = min(tileRows, range.upperBound &- r0)
            totals.initialize(repeating: SIMD8(), count: batch &* tileRows)
            for cb in 0..<scaleColumns {
                let width = min(128, cols &- cb &* 128)
                convertTile(firstRow: r0, rowCount: n, c0: cb &* 128, width: width, into: tile)
                let xb = xp + cb &* batch &* 128
                // Token chunks small enough that the chunk (16 × 512 B) and the tile stay in L1.
                for t0 in stride(from: 0, to: batch, by: FP8View.gemmTokenChunk) {
                    let tokens = t0..<min(batch, t0 &+ FP8View.gemmTokenChunk)
                    for g in stride(from: 0, to: n, by: 3) {
                        var s = SIMD4<Float>()
                        for i in 0..<3 where g &+ i < n { s[i] = scales[((r0 &+ g &+ i) / 128) &* scaleColumns &+ cb] * fp8BlockScaleFactor }
                        gemmBlock(tile + g &* 128, scales: s, x: xb, tokens: tokens, width: (width &+ 7) & ~7,
                                  totals: totals + g, acc: acc)
                    }
                }
            }
            for b in 0..<batch {
                for i in 0..<n { y[b &* rows &+ r0 &+ i] = laneSum(totals[b &* tileRows &+ i]) }
            }
            r0 &+= n
        }
    }

    /// One 3-row slice of a tile against `tokens`: totals[b·24 + i] += acc(b, i) · s[i].
    /// x (batch, 128) packed; `width` a multiple of 8 (zero-padded lanes contribute fma(0, 0, acc),
    /// exactly as the GEMV's zero-padded ragged vector).
    @inline(__always)
    private func gemmBlock(
        _ w: UnsafePointer<Float>, scales s: SIMD4<Float>, x: UnsafePointer<Float>, tokens range: Range<Int>,
        width: Int, totals: UnsafeMutablePointer<SIMD8<Float>>, acc: UnsafeMutablePointer<SIMD8<Float>>
    ) {
        let tileRows = FP8View.gemmTileRows
        let s0 = SIMD8(repeating: s[0]), s1 = SIMD8(repeating: s[1]), s2 = SIMD8(repeating: s[2])
        var b = range.lowerBound
        while b &+ 4 <= range.upperBound {
            micro3x4(w, wStride: 128, x + b &* 128, xStride: 128, width: width, wTailReadable: true,
                     into: totals + b &* tileRows, scales: s, accStride: tileRows)
            b &+= 4
        }
        while b < range.upperBound {
            micro3x1(w, wStride: 128, x + b &* 128, width: width, wTailReadable: true, into: acc)
            let out = totals + b &* tileRows
            out[0].addProduct(acc[0], s0); out[1].addProduct(acc[1], s1); out[2].addProduct(acc[2], s2)
            b &+= 1
        }
    }

    /// Codes of rows [r0, r0+n) × columns [c0, c0+width) → tile (24, 128) of decode·2^-56 (exact:
    /// `e4m3Fake32` × 2^64); lanes past `width` (to the next multiple of 8) and rows past `n` are zero.
    private func convertTile(firstRow r0: Int, rowCount n: Int, c0: Int, width: Int, into tile: UnsafeMutablePointer<Float>) {
        let full = width & ~7
        let k = SIMD8<Float>(repeating: fp8ActivationScale)
        for i in 0..<FP8View.gemmTileRows {
            let dst = tile + i &* 128
            guard i < n else {
                dst.update(repeating: 0, count: 128)
                continue
            }
            let src = codes + ((r0 &+ i) &* cols &+ c0)
            var j = 0
            while j < full {
                storeLanes(e4m3Fake32(src + j) * k, dst + j)
                j &+= 8
            }
            if j < width { storeLanes(e4m3Fake32Partial(src + j, width &- j) * k, dst + j) }
        }
    }
}
