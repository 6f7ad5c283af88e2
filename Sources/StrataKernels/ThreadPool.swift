import Dispatch

/// Runs data-parallel work over a fixed number of threads, each taking one contiguous range.
///
/// Kernels split their output rows into `threads` contiguous ranges so each thread streams its own
/// slice of the weights. `threads == 1` runs inline on the caller.
public final class ThreadPool: @unchecked Sendable {
    public let threads: Int

    public init(threads: Int) {
        precondition(threads >= 1, "a thread pool needs at least one thread")
        self.threads = threads
    }

    /// Splits `0..<count` into at most `threads` contiguous ranges (aligned to `granule`) and runs
    /// `body` on each, returning when all are done.
    public func parallelFor(_ count: Int, granule: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = ThreadPool.partition(count, parts: threads, granule: granule)
        if parts.count <= 1 {
            if let only = parts.first { body(only) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: parts.count) { body(parts[$0]) }
        }
    }

    /// Contiguous, nearly equal ranges covering `0..<count`, boundaries on multiples of `granule`.
    public static func partition(_ count: Int, parts: Int, granule: Int = 1) -> [Range<Int>] {
        guard count > 0 else { return [] }
        let units = (count + granule - 1) / granule
        let n = min(parts, units)
        var out: [Range<Int>] = []
        out.reserveCapacity(n)
        var start = 0
        for i in 0..<n {
            let endUnit = units * (i + 1) / n
            let end = min(count, endUnit * granule)
            if end > start { out.append(start..<end) }
            start = end
        }
        return out
    }
}
