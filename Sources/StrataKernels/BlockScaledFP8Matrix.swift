#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A weight stored as FP8 E4M3 with one f32 scale per 128×128 block (DeepSeek-V3 layout):
/// `W[r, c] = decode(codes[r, c]) * scales[r / 128, c / 128]`.
public final class BlockScaledFP8Matrix: LinearWeight, @unchecked Sendable {
    public static let block = 128
    public let rows: Int
    public let cols: Int
    /// (rows, cols) E4M3 codes, row-major.
    public let codes: UnsafeMutablePointer<UInt8>
    /// (ceil(rows/128), ceil(cols/128)) multipliers, row-major.
    public let scales: UnsafeMutablePointer<Float>
    public var scaleColumns: Int { (cols + 127) / 128 }
    public var scaleRows: Int { (rows + 127) / 128 }
    public var byteCount: Int { rows * cols + scaleRows * scaleColumns * 4 }

    /// What keeps `codes` valid when they are not this matrix's own allocation (a checkpoint's
    /// memory map); nil when the matrix allocated them.
    private let codesOwner: AnyObject?

    /// Uninitialized storage (codes zero, scales one).
    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        codes = .allocate(capacity: rows * cols)
        codes.initialize(repeating: 0, count: rows * cols)
        let ns = ((rows + 127) / 128) * ((cols + 127) / 128)
        scales = .allocate(capacity: ns)
        scales.initialize(repeating: 1, count: ns)
        codesOwner = nil
    }

    /// Codes read in place (an FP8 checkpoint's memory map, no copy), kept valid by `owner`;
    /// scales initialized to one for the caller to fill. The codes must never be written.
    public init(rows: Int, cols: Int, mappedCodes: UnsafePointer<UInt8>, owner: AnyObject) {
        self.rows = rows
        self.cols = cols
        codes = UnsafeMutablePointer(mutating: mappedCodes)
        let ns = ((rows + 127) / 128) * ((cols + 127) / 128)
        scales = .allocate(capacity: ns)
        scales.initialize(repeating: 1, count: ns)
        codesOwner = owner
    }

    deinit {
        if codesOwner == nil {
            codes.deallocate()
        } else {
            // The map outlives this matrix while other weights use it (a re-shard that moves this
            // layer away): drop its whole pages from the process now (they stay in the page cache).
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let start = (Int(bitPattern: codes) + page - 1) / page * page
            let end = (Int(bitPattern: codes) + rows * cols) / page * page
            if end > start, let p = UnsafeMutableRawPointer(bitPattern: start) { _ = madvise(p, end - start, Int32(MADV_DONTNEED)) }
        }
        scales.deallocate()
    }

    /// Quantizes an f32 matrix block by block: scale = the multiple amax/448 · (1 + k/128),
    /// k = 0…16, with the smallest squared reconstruction error (1 for an all-zero block; see
    /// FP8ScaleSearch.swift for the rule and its reasons), codes = round-to-nearest-even(clamp(w /
    /// scale, ±448)).
    /// `fillRows(start, count, out)` writes rows [start, start+count) of W as f32 into `out`.
    public convenience init(rows: Int, cols: Int, quantizing fillRows: (Int, Int, UnsafeMutablePointer<Float>) throws -> Void) rethrows {
        self.init(rows: rows, cols: cols)
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: 128 * cols)
        defer { tile.deallocate() }
        for rb in 0..<scaleRows {
            let r0 = rb * 128, n = min(128, rows - r0)
            try fillRows(r0, n, tile)
            quantizeTile(tile, firstRow: r0, rowCount: n)
        }
    }

    /// Parallel variant of `init(rows:cols:quantizing:)`: 128-row blocks are converted on `pool`'s
    /// threads, so `fillRows` must be safe to call concurrently for disjoint rows.
    public convenience init(rows: Int, cols: Int, pool: ThreadPool, quantizing fillRows: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        self.init(rows: rows, cols: cols)
        pool.parallelFor(scaleRows) { blocks in
            let tile = UnsafeMutablePointer<Float>.allocate(capacity: 128 * self.cols)
            defer { tile.deallocate() }
            for rb in blocks {
                let r0 = rb * 128, n = min(128, self.rows - r0)
                fillRows(r0, n, tile)
                self.quantizeTile(tile, firstRow: r0, rowCount: n)
            }
        }
    }

    private func quantizeTile(_ tile: UnsafeMutablePointer<Float>, firstRow r0: Int, rowCount n: Int) {
        Kernels.active.fp8QuantizeTile(tile, n, cols, r0, codes, scales)
    }

    /// Reference decode of rows [start, start+count) to f32.
    public func dequantizeRows(_ start: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        for r in start..<(start + count) {
            for c in 0..<cols {
                out[(r - start) * cols + c] = E4M3.table[Int(codes[r * cols + c])] * scales[(r / 128) * scaleColumns + c / 128]
            }
        }
    }

    /// x (batch, cols) @ W^T -> y (batch, rows): the GEMV (FP8GEMV.swift) for batch 1, the
    /// streaming GEMM (FP8StreamingGEMM.swift) up to `streamingBatchLimit`, else the tiled GEMM
    /// (FP8GEMM.swift); both perform the same operations per (token, row), so the result for
    /// a token is bit-identical whatever the batch (and whatever the split of rows over threads). The threads
    /// take contiguous chunks of rows in order (`ThreadPool.parallelChunks`).
    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard batch > 0 else { return }
        if batch == 1 {
            let xs = prescaled(x, batch: 1).values
            defer { xs.deallocate() }
            let view = self.view, kernels = pool.kernels
            pool.parallelChunks(rows, chunk: gemvChunkRows(threads: pool.threads)) { range in
                kernels.fp8Gemv(view, range, xs, y)
            }
        } else if batch <= FP8View.streamingBatchLimit {
            forwardStreaming(x, batch: batch, into: y, pool: pool)
        } else {
            forwardTiled(x, batch: batch, into: y, pool: pool)
        }
    }

    /// The streaming small-batch GEMM (FP8StreamingGEMM.swift) for any batch.
    /// `kernel` picks the passes (`strata bench kernels` compares 2- and 3-row passes).
    func forwardStreaming(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool,
                          kernel: StreamingKernel = .automatic) {
        let (xs, stride) = prescaled(x, batch: batch)
        defer { xs.deallocate() }
        let chunk = streamingChunkRows(threads: pool.threads, triples: kernel.usesTriples(batch: batch), batch: batch)
        let view = self.view, kernels = pool.kernels
        pool.parallelChunks(rows, chunk: chunk) { range in
            kernels.fp8GemmStreaming(view, range, xs, stride, batch, y, kernel)
        }
    }

    /// The tiled GEMM (FP8GEMM.swift) for any batch.
    func forwardTiled(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let packed = packBlocks(x, batch: batch)
        defer { packed.deallocate() }
        let view = self.view, kernels = pool.kernels
        pool.parallelChunks(rows, chunk: 4 * FP8View.gemmTileRows) { range in
            kernels.fp8GemmTiled(view, range, packed, batch, y)
        }
    }

    /// The kernels' view of the codes and scales.
    public var view: FP8View { FP8View(codes: codes, scales: scales, rows: rows, cols: cols) }

    /// X (batch, cols) → (batch, stride) x·2^64 (the kernels' activation pre-scale, exact), each
    /// row zero-padded to `stride` = cols rounded up to 8, so every activation load is a full vector.
    func prescaled(_ x: UnsafePointer<Float>, batch: Int) -> (values: UnsafeMutablePointer<Float>, stride: Int) {
        let stride = (cols &+ 7) & ~7
        let out = UnsafeMutableRawPointer.allocate(byteCount: batch &* stride &* 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: batch &* stride)
        let k = SIMD8(repeating: FP8View.activationScale)
        for b in 0..<batch {
            let src = x + b &* cols, dst = out + b &* stride
            var i = 0
            while i &+ 8 <= cols { storeLanes(lanes(src + i) * k, dst + i); i &+= 8 }
            while i < stride { dst[i] = i < cols ? src[i] * FP8View.activationScale : 0; i &+= 1 }
        }
        return (out, stride)
    }

    /// X (batch, cols) → block-major copy (scaleColumns, batch, 128), each block zero-padded to 128
    /// columns: the tiled GEMM's micro-kernel then reads each token's block contiguously (the rows
    /// of X are a power of two apart and would alias in every cache level) and needs no ragged tail.
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

    /// GEMV rows per work chunk: about 8 chunks per thread (load balance on a busy machine), at
    /// least 64 rows (long memory streams), a multiple of the 4 rows of a pass.
    func gemvChunkRows(threads: Int) -> Int {
        let target = rows / max(1, threads * 8)
        return max(64, (target + 3) & ~3)
    }

    /// Streaming-GEMM rows per work chunk: about 8 chunks per thread, at least 64/batch rows (a
    /// chunk's work grows with the batch, so small matrices still split evenly), a multiple of the
    /// rows of a pass (2, or 3 with the 3 × 4 kernel).
    func streamingChunkRows(threads: Int, triples: Bool, batch: Int) -> Int {
        let target = rows / max(1, threads * 8)
        let unit = triples ? 3 : 2   // rows per pass: no chunk ends with a lone row
        return (max(8, 64 / max(batch, 1), target) + unit - 1) / unit * unit
    }

    /// Index of the first NaN code (0x7F/0xFF), or nil. The fast kernels read NaN codes as ±480,
    /// so loaders reject weights that contain any.
    /// Scans 32 codes per step in 64-bit words (per byte, (b & 0x7F) + 1 carries into bit 7 exactly
    /// for S.1111.111; no carry crosses a byte): ≈ memory speed even in baseline code. Loading an
    /// FP8 checkpoint runs it over every weight, which also brings the mapped codes in.
    public func firstNaNCode() -> Int? {
        let n = rows * cols, p = UnsafeRawPointer(codes)
        let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F, one: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func nan(_ w: UInt64) -> UInt64 { ((w & low) &+ one) & high }
        var i = 0
        while i &+ 32 <= n {
            let a = p.loadUnaligned(fromByteOffset: i, as: UInt64.self), b = p.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
            let c = p.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self), d = p.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self)
            if (nan(a) | nan(b) | nan(c) | nan(d)) != 0 { break }
            i &+= 32
        }
        for j in i..<n where codes[j] & 0x7F == 0x7F { return j }
        return nil
    }

    /// Scalar reference: per 128-wide block, sum decode(code)·x in f32, then scale once per block.
    /// Same value as `forward` up to f32 rounding (the fast kernels sum in 8 lanes).
    public func referenceRowDot(_ r: Int, _ x: UnsafePointer<Float>) -> Float {
        var total: Float = 0
        let row = codes + r * cols
        for cb in 0..<scaleColumns {
            let c0 = cb * 128, w = min(128, cols - c0)
            var s: Float = 0
            for c in 0..<w { s.addProduct(E4M3.table[Int(row[c0 + c])], x[c0 + c]) }
            total.addProduct(s, scales[(r / 128) * scaleColumns + cb])
        }
        return total
    }
}
