/// FP8 GEMM for prefill and batched decode: X (batch, cols) @ W^T -> Y (batch, rows).
///
/// Compute-bound: a tile of 16 weight rows × one 128-wide block is converted to f32 once (into an
/// L1-resident buffer) and reused for every token of the batch by the 4×3 micro-kernel. Per (token,
/// row) the floating-point operations are exactly those of the GEMV (Lanes.swift), so a token's
/// output never depends on the batch it shares.
extension BlockScaledFP8Matrix {
    /// Weight rows per converted tile.
    static let gemmTileRows = 16

    /// X (batch, cols) → block-major copy (scaleColumns, batch, 128), each block zero-padded to 128
    /// columns: the micro-kernel then reads each token's block contiguously (the rows of X are a
    /// power of two apart and would alias in every cache level) and needs no ragged tail.
    func packBlocks(_ x: UnsafePointer<Float>, batch: Int) -> UnsafeMutablePointer<Float> {
        let count = scaleColumns &* batch &* 128
        let packed = UnsafeMutableRawPointer.allocate(byteCount: count &* 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
        for cb in 0..<scaleColumns {
            let c0 = cb &* 128, width = min(128, cols &- c0)
            for b in 0..<batch {
                let dst = packed + (cb &* batch &+ b) &* 128
                dst.update(from: x + (b &* cols &+ c0), count: width)
                if width < 128 { (dst + width).update(repeating: 0, count: 128 &- width) }
            }
        }
        return packed
    }

    /// Y[b, r] for r in `range` and every b; xp from `packBlocks`, y (batch, rows).
    func gemm(rows range: Range<Int>, packed xp: UnsafePointer<Float>, batch: Int, y: UnsafeMutablePointer<Float>) {
        let tileRows = BlockScaledFP8Matrix.gemmTileRows
        let tileBytes = tileRows * 128 * MemoryLayout<Float>.stride
        let tile = UnsafeMutableRawPointer.allocate(byteCount: tileBytes, alignment: 64)
            .bindMemory(to: Float.self, capacity: tileRows * 128)
        let totals = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: batch * tileRows)
        let acc = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 12)
        defer { tile.deallocate(); totals.deallocate(); acc.deallocate() }

        var r0 = range.lowerBound
        while r0 < range.upperBound {
            let n = min(tileRows, range.upperBound &- r0)
            totals.initialize(repeating: SIMD8(), count: batch * tileRows)
            for cb in 0..<scaleColumns {
                let c0 = cb &* 128, width = min(128, cols &- c0)
                convertTile(firstRow: r0, rowCount: n, c0: c0, width: width, into: tile)
                let xb = xp + cb &* batch &* 128
                for half in stride(from: 0, to: n, by: 4) {
                    var s = SIMD4<Float>()
                    for i in 0..<4 where half &+ i < n { s[i] = scales[((r0 &+ half &+ i) / 128) &* scaleColumns &+ cb] * fp8BlockScaleFactor }
                    gemmBlock(tile + half &* 128, scales: s, x: xb, batch: batch, width: (width &+ 7) & ~7,
                              totals: totals + half, acc: acc)
                }
            }
            for b in 0..<batch {
                for i in 0..<n { y[b &* rows &+ r0 &+ i] = laneSum(totals[b &* tileRows &+ i]) }
            }
            r0 &+= n
        }
    }

    /// One 4-row slice of a tile against every token: totals[b·16 + i] += acc(b, i) · s[i].
    /// x (batch, 128) packed; `width` a multiple of 8 (zero-padded lanes contribute fma(0, 0, acc),
    /// exactly as the GEMV's zero-padded ragged vector).
    @inline(__always)
    private func gemmBlock(
        _ w: UnsafePointer<Float>, scales s: SIMD4<Float>, x: UnsafePointer<Float>, batch: Int,
        width: Int, totals: UnsafeMutablePointer<SIMD8<Float>>, acc: UnsafeMutablePointer<SIMD8<Float>>
    ) {
        let tileRows = BlockScaledFP8Matrix.gemmTileRows
        let s0 = SIMD8(repeating: s[0]), s1 = SIMD8(repeating: s[1])
        let s2 = SIMD8(repeating: s[2]), s3 = SIMD8(repeating: s[3])
        var b = 0
        while b < batch {
            let tokens = batch &- b >= 3 ? 3 : 1
            if tokens == 3 {
                micro4x3(w, wStride: 128, x + b &* 128, xStride: 128, width: width, wTailReadable: true, into: acc)
            } else {
                micro4x1(w, wStride: 128, x + b &* 128, width: width, wTailReadable: true, into: acc)
            }
            for t in 0..<tokens {
                let out = totals + (b &+ t) &* tileRows
                out[0].addProduct(acc[t &* 4], s0)
                out[1].addProduct(acc[t &* 4 &+ 1], s1)
                out[2].addProduct(acc[t &* 4 &+ 2], s2)
                out[3].addProduct(acc[t &* 4 &+ 3], s3)
            }
            b &+= tokens
        }
    }

    /// Codes of rows [r0, r0+n) × columns [c0, c0+width) → tile (16, 128) of decode·2^-24 (exact); lanes past
    /// `width` (to the next multiple of 8) and rows past `n` are zero.
    private func convertTile(firstRow r0: Int, rowCount n: Int, c0: Int, width: Int, into tile: UnsafeMutablePointer<Float>) {
        let full = width & ~7
        let k = SIMD8<Float>(repeating: 0x1p-16)  // decode/256 → decode·2^-24
        for i in 0..<BlockScaledFP8Matrix.gemmTileRows {
            let dst = tile + i &* 128
            guard i < n else {
                dst.update(repeating: 0, count: 128)
                continue
            }
            let src = UnsafePointer(codes + ((r0 &+ i) &* cols &+ c0))
            var j = 0
            while j < full {
                storeLanes(e4m3Lanes(src + j) * k, dst + j)
                j &+= 8
            }
            if j < width { storeLanes(e4m3LanesPartial(src + j, width &- j) * k, dst + j) }
        }
    }
}
