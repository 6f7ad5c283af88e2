/// STREAM-style read-bandwidth probe: sums a large f32 buffer with the pool's kernel variant
/// (`KernelSet.readSum`, its widest loads), each thread over its own contiguous slice — the access pattern of the GEMV, without the arithmetic.
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
        let kernels = pool.kernels
        pool.parallelChunks(count / 64, chunk: chunkVectors) { range in
            sums[range.lowerBound / chunkVectors] = kernels.readSum(self.buffer + range.lowerBound * 64, range.count * 64)
        }
        for i in 0..<((count / 64 + chunkVectors - 1) / chunkVectors) { sink += sums[i] }
    }
}
