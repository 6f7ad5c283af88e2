#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Runs data-parallel work over a fixed number of threads, each taking one contiguous range.
///
/// Kernels split their output rows into `threads` contiguous ranges so each thread streams its own
/// slice of the weights. The caller runs range 0 itself; `threads - 1` persistent workers run the
/// others. Workers spin briefly after each job (decode issues thousands of small jobs per second)
/// and then park on a condition variable, so an idle pool costs no CPU. `threads == 1` runs inline.
///
/// `parallelFor` may be called from any thread; a call made while the pool is busy (from inside a
/// body, or concurrently from another thread) runs all its ranges inline on the caller, in order.
public final class ThreadPool: @unchecked Sendable {
    /// Ranges a `parallelFor` splits into: the caller plus `threads - 1` workers.
    public let threads: Int
    /// The kernel variant the work run on this pool uses (`Kernels.active` unless a test or a
    /// benchmark asks for another).
    public let kernels: KernelSet
    private let shared: PoolShared
    private var workers: [pthread_t] = []

    /// Starts `threads - 1` persistent worker threads (callers pass the core count).
    public init(threads: Int, kernels: KernelSet = Kernels.active) {
        precondition(threads >= 1, "a thread pool needs at least one thread")
        self.threads = threads
        self.kernels = kernels
        shared = PoolShared(workers: threads - 1)
        for index in 1..<threads { workers.append(startWorker(index: index)) }
    }

    deinit {
        shared.shutDown()
        for t in workers { pthread_join(t, nil) }
    }

    /// Splits `0..<count` into at most `threads` contiguous ranges (aligned to `granule`) and runs
    /// `body` on each, returning when all are done.
    public func parallelFor(_ count: Int, granule: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = ThreadPool.partition(count, parts: threads, granule: granule)
        if parts.count <= 1 || !shared.tryAcquire() {
            for p in parts { body(p) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            shared.run(parts: parts, body: escapable)
        }
        shared.release()
    }

    /// Runs `body` on the contiguous chunks `[i·chunk, (i+1)·chunk) ∩ 0..<count`, which the threads
    /// take in order from a shared counter: a thread that gets less CPU (a busy machine) simply
    /// takes fewer chunks. Kernels whose per-row arithmetic does not depend on the split use it
    /// for streaming work; results are the same as with `parallelFor`.
    public func parallelChunks(_ count: Int, chunk: Int, _ body: (Range<Int>) -> Void) {
        precondition(chunk >= 1, "chunk must be positive")
        let chunks = (count + chunk - 1) / chunk
        if threads == 1 || chunks <= 1 {
            for i in 0..<chunks { body((i * chunk)..<min(count, (i + 1) * chunk)) }
            return
        }
        let next = ChunkCounter()
        parallelFor(min(threads, chunks)) { _ in
            while true {
                let i = next.value.add(1, ordering: .relaxed).oldValue
                if i >= chunks { return }
                body((i * chunk)..<min(count, (i + 1) * chunk))
            }
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

    private func startWorker(index: Int) -> pthread_t {
        let context = Unmanaged.passRetained(WorkerContext(shared: shared, index: index)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t? = nil
        #endif
        let rc = pthread_create(&thread, nil, { raw in
            let ctx = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
            ctx.shared.workerLoop(index: ctx.index)
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed (\(rc))")
        #if canImport(Glibc)
        return thread
        #else
        return thread!
        #endif
    }
}

private final class ChunkCounter: Sendable {
    let value = Atomic<Int>(0)
}

private final class WorkerContext {
    let shared: PoolShared
    let index: Int
    init(shared: PoolShared, index: Int) { self.shared = shared; self.index = index }
}

/// State shared by the caller and the workers: the published job and its hand-shake counters.
private final class PoolShared: @unchecked Sendable {
    /// Spins (≈ tens of µs) before a worker parks; decode's back-to-back jobs never park.
    static let spinIterations = 20_000

    let workerCount: Int
    let generation = Atomic<Int>(0)
    let pending = Atomic<Int>(0)
    let busy = Atomic<Bool>(false)
    let sleepers = Atomic<Int>(0)
    var stopping = false
    // The job; written by the caller before `generation` is bumped (release), read after (acquire).
    var parts: [Range<Int>] = []
    var body: ((Range<Int>) -> Void)? = nil
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(workers: Int) {
        workerCount = workers
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }
    deinit {
        pthread_cond_destroy(cond); pthread_mutex_destroy(mutex)
        cond.deallocate(); mutex.deallocate()
    }

    func tryAcquire() -> Bool {
        busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }
    func release() { busy.store(false, ordering: .releasing) }

    /// Publishes the job, runs part 0 on the caller, waits for every worker to report.
    func run(parts: [Range<Int>], body: @escaping (Range<Int>) -> Void) {
        self.parts = parts
        self.body = body
        pending.store(workerCount, ordering: .relaxed)
        publish()
        body(parts[0])
        var spins = 0
        while pending.load(ordering: .acquiring) != 0 {
            spins &+= 1
            if spins > PoolShared.spinIterations { sched_yield() }
        }
        self.body = nil
    }

    func shutDown() {
        stopping = true
        publish()
    }

    private func publish() {
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)
        }
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            seen = waitForJob(after: seen)
            if stopping { return }
            if index < parts.count, let body { body(parts[index]) }
            pending.subtract(1, ordering: .releasing)
        }
    }

    /// Spins, then parks, until `generation` moves past `seen`; returns the new generation.
    private func waitForJob(after seen: Int) -> Int {
        for _ in 0..<PoolShared.spinIterations {
            let g = generation.load(ordering: .acquiring)
            if g != seen { return g }
        }
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        var g = generation.load(ordering: .sequentiallyConsistent)
        while g == seen {
            pthread_cond_wait(cond, mutex)
            g = generation.load(ordering: .acquiring)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
        return g
    }
}
