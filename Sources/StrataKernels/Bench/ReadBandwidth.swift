/// STREAM-style read-bandwidth probe: sums a large f32 buffer with 8-lane loads, each thread over
/// its own contiguous slice — the access pattern of the GEMV, without the arithmetic.
public final class ReadBandwidthProbe {
    let count: Int
    let buffer: UnsafeMutablePointer<Float>
    /// Keeps the sums observable so the loads are not optimized away.
    private(set) var sink: Float = 0

    /// A buffer of `bytes` (rounded down to 64 bytes), touched once so its pages exist.
    public init(bytes: Int) {
        count = bytes / 64 * 16
        buffer = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
        buffer.initialize(repeating: 1, count: count)
    }
    deinit { buffer.deallocate() }

    /// Bytes read per pass.
    public var bytes: Int { count * 4 }

    /// One pass over the whole buffer on `pool`, in 4 MiB chunks taken in order by the threads —
    /// the scheduling the GEMV uses.
    public func pass(pool: ThreadPool) {
        let chunkVectors = (4 << 20) / 256  // 64-float groups per chunk
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: count / 64 / chunkVectors + 1)
        defer { sums.deallocate() }
        pool.parallelChunks(count / 64, chunk: chunkVectors) { range in
            sums[range.lowerBound / chunkVectors] = ReadBandwidthProbe.sum(self.buffer + range.lowerBound * 64, count: range.count * 64)
        }
        for i in 0..<((count / 64 + chunkVectors - 1) / chunkVectors) { sink += sums[i] }
    }

    /// Σ p[0..<count], count a multiple of 64: 8 independent 8-lane accumulators.
    static func sum(_ p: UnsafePointer<Float>, count: Int) -> Float {
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
}
