import Testing
import StrataKernels

@Suite struct ThreadPoolTests {
    @Test func partitionIsContiguousAndAligned() {
        for count in [0, 1, 5, 64, 1000] {
            for parts in [1, 2, 3, 8] {
                let p = ThreadPool.partition(count, parts: parts, granule: 4)
                #expect(p.count <= parts)
                #expect(p.first?.lowerBound ?? 0 == 0 && p.last?.upperBound ?? 0 == count)
                for (a, b) in zip(p, p.dropFirst()) { #expect(a.upperBound == b.lowerBound && a.upperBound % 4 == 0) }
            }
        }
    }

    @Test func everyIndexRunsOnceAcrossManyJobs() {
        let pool = ThreadPool(threads: 3)
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
        defer { hits.deallocate() }
        hits.initialize(repeating: 0, count: 1000)
        for job in 0..<2000 {
            let n = job % 1000 + 1
            pool.parallelFor(n) { range in for i in range { hits[i] += 1 } }
        }
        var expected = [Int](repeating: 0, count: 1000)
        for job in 0..<2000 { for i in 0..<(job % 1000 + 1) { expected[i] += 1 } }
        #expect(Array(UnsafeBufferPointer(start: hits, count: 1000)) == expected)
    }

    @Test func nestedCallsRunInline() {
        let pool = ThreadPool(threads: 2)
        let total = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { total.deallocate() }
        total.initialize(repeating: 0, count: 2)
        pool.parallelFor(2) { outer in
            for o in outer { pool.parallelFor(10) { inner in total[o] += inner.count } }
        }
        #expect(total[0] == 10 && total[1] == 10)
    }

    @Test func idlePoolParksAndWakes() async throws {
        let pool = ThreadPool(threads: 2)
        try await Task.sleep(for: .milliseconds(50))  // workers park
        let flags = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { flags.deallocate() }
        flags.initialize(repeating: 0, count: 2)
        pool.parallelFor(2) { r in for i in r { flags[i] = 1 } }
        #expect(flags[0] == 1 && flags[1] == 1)
    }
}

@Suite struct ThreadPoolChunkTests {
    @Test func chunksCoverEveryIndexOnce() {
        let pool = ThreadPool(threads: 3)
        for (count, chunk) in [(0, 4), (1, 4), (10, 3), (1000, 64), (1000, 1000), (999, 1)] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
            defer { hits.deallocate() }
            hits.initialize(repeating: 0, count: max(count, 1))
            pool.parallelChunks(count, chunk: chunk) { range in
                #expect(range.lowerBound % chunk == 0 && range.count <= chunk)
                for i in range { hits[i] += 1 }
            }
            #expect((0..<count).allSatisfy { hits[$0] == 1 }, "count \(count) chunk \(chunk)")
        }
    }
}
