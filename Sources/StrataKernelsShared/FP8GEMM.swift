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
        let totals = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: batch &* tileRows)
        defer { tile.deallocate(); totals.deallocate() }

        var r0 = range.lowerBound
        while r0 < range.upperBound {
            let n = min(tileRows, range.upperBound &- r0)
            totals.initialize(repeating: SIMD16(), count: batch &* tileRows)
            for cb in 0..<scaleColumns {
                let width = min(128, cols &- cb &* 128)
                convertTile(firstRow: r0, rowCount: n, c0: cb &* 128, width: width, into: tile)
                let xb = xp + cb &* batch &* 128
                // Token chunks small enough that the chunk (16 × 512 B) and the tile stay in L1.
                for t0 in stride(from: 0, to: batch, by: FP8View.gemmTokenChunk) {
                    let tokens = t0..<min(batch, t0 &+ FP8View.gemmTokenChunk)
                    for g in stride(from: 0, to: n, by: 3) {
                        var s = SIMD3<Float>()
                        for i in 0..<3 where g &+ i < n { s[i] = scales[((r0 &+ g &+ i) / 128) &* scaleColumns &+ cb] * fp8BlockScaleFactor }
                        gemmBlock(tile + g &* 128, scales: s, x: xb, tokens: tokens, width: (width &+ 15) & ~15, totals: totals + g)
                    }
                }
            }
            for b in 0..<batch {
                for i in 0..<n { y[b &* rows &+ r0 &+ i] = laneSum16(totals[b &* tileRows &+ i]) }
            }
            r0 &+= n
        }
    }

    /// One 3-row slice of a tile against `tokens`: totals[b·24 + i] += acc(b, i) · s[i].
    /// x (batch, 128) packed; `width` a multiple of 16 (zero-padded lanes contribute fma(0, 0, acc),
    /// exactly as the GEMV's zero-padded ragged vector).
    @inline(__always)
    private func gemmBlock(
        _ w: UnsafePointer<Float>, scales s: SIMD3<Float>, x: UnsafePointer<Float>, tokens range: Range<Int>,
        width: Int, totals: UnsafeMutablePointer<SIMD16<Float>>
    ) {
        typealias V = FP8GemmVector
        let tileRows = FP8View.gemmTileRows
        for half in 0..<V.halves {
            let o = half &* V.scalarCount
            var b = range.lowerBound
            while b &+ 4 <= range.upperBound {
                tileMicro3x4(V.self, w + o, x + (b &* 128 &+ o), width: width, into: totals + b &* tileRows, stride: tileRows,
                             offset: o, s)
                b &+= 4
            }
            while b < range.upperBound {
                tileMicro3x1(V.self, w + o, x + (b &* 128 &+ o), width: width, into: totals + b &* tileRows, offset: o, s)
                b &+= 1
            }
        }
    }

    /// Codes of rows [r0, r0+n) × columns [c0, c0+width) → tile (24, 128) of decode·2^-56 (exact:
    /// `e4m3Fake32` × 2^64); lanes past `width` (to the next multiple of 16) and rows past `n` are zero.
    private func convertTile(firstRow r0: Int, rowCount n: Int, c0: Int, width: Int, into tile: UnsafeMutablePointer<Float>) {
        let full = width & ~7, padded = (width &+ 15) & ~15
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
            if j < width { storeLanes(e4m3Fake32Partial(src + j, width &- j) * k, dst + j); j &+= 8 }
            if j < padded { storeLanes(SIMD8(), dst + j) }
        }
    }
}

/// Tile rows w (3, ·) at row stride 128 × 4 packed tokens x (4, ·) at stride 128, both already at
/// lane offset `offset`: one vector per 16 columns up to `width` (a multiple of 16, zero-padded),
/// 12 accumulators + 3 weight vectors + 1 activation = 16 registers; 7 loads per 12 fmas.
/// t[token·stride + i] = fma(acc(token, i), s[i], t) on lanes `offset ..< offset + V.count`.
@inline(__always)
private func tileMicro3x4<V: FP8Vector>(
    _: V.Type, _ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, width: Int,
    into t: UnsafeMutablePointer<SIMD16<Float>>, stride: Int, offset o: Int, _ s: SIMD3<Float>
) {
    let w0 = w, w1 = w + 128, w2 = w1 + 128
    let x0 = x, x1 = x + 128, x2 = x1 + 128, x3 = x2 + 128
    var a00 = V(), a01 = V(), a02 = V(), a10 = V(), a11 = V(), a12 = V()
    var a20 = V(), a21 = V(), a22 = V(), a30 = V(), a31 = V(), a32 = V()
    var j = 0
    while j < width {
        let v0 = V.load(w0 + j), v1 = V.load(w1 + j), v2 = V.load(w2 + j)
        var y = V.load(x0 + j)
        a00.addProduct(v0, y); a01.addProduct(v1, y); a02.addProduct(v2, y)
        y = V.load(x1 + j)
        a10.addProduct(v0, y); a11.addProduct(v1, y); a12.addProduct(v2, y)
        y = V.load(x2 + j)
        a20.addProduct(v0, y); a21.addProduct(v1, y); a22.addProduct(v2, y)
        y = V.load(x3 + j)
        a30.addProduct(v0, y); a31.addProduct(v1, y); a32.addProduct(v2, y)
        j &+= 16
    }
    let t0 = t, t1 = t + stride, t2 = t1 + stride, t3 = t2 + stride
    accumulate(a00, scale: s[0], into: t0, offset: o); accumulate(a01, scale: s[1], into: t0 + 1, offset: o)
    accumulate(a02, scale: s[2], into: t0 + 2, offset: o); accumulate(a10, scale: s[0], into: t1, offset: o)
    accumulate(a11, scale: s[1], into: t1 + 1, offset: o); accumulate(a12, scale: s[2], into: t1 + 2, offset: o)
    accumulate(a20, scale: s[0], into: t2, offset: o); accumulate(a21, scale: s[1], into: t2 + 1, offset: o)
    accumulate(a22, scale: s[2], into: t2 + 2, offset: o); accumulate(a30, scale: s[0], into: t3, offset: o)
    accumulate(a31, scale: s[1], into: t3 + 1, offset: o); accumulate(a32, scale: s[2], into: t3 + 2, offset: o)
}

/// 3 tile rows × 1 token (batch remainders), as `tileMicro3x4`.
@inline(__always)
private func tileMicro3x1<V: FP8Vector>(
    _: V.Type, _ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, width: Int,
    into t: UnsafeMutablePointer<SIMD16<Float>>, offset o: Int, _ s: SIMD3<Float>
) {
    var a0 = V(), a1 = V(), a2 = V()
    var j = 0
    while j < width {
        let y = V.load(x + j)
        a0.addProduct(V.load(w + j), y); a1.addProduct(V.load(w + (128 &+ j)), y); a2.addProduct(V.load(w + (256 &+ j)), y)
        j &+= 16
    }
    accumulate(a0, scale: s[0], into: t, offset: o); accumulate(a1, scale: s[1], into: t + 1, offset: o)
    accumulate(a2, scale: s[2], into: t + 2, offset: o)
}
