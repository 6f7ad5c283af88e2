#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Timing helpers for `strata bench …`: medians of repeated passes.
public enum BenchTiming {
    /// Wall-clock time (the reported figures), or the process's CPU time — a tuning aid on a busy
    /// machine, meaningful for 1-thread figures only.
    nonisolated(unsafe) static var useCPUTime = false

    /// Seconds taken by `body`.
    public static func seconds(_ body: () -> Void) -> Double {
        let id = useCPUTime ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC
        var a = timespec(), b = timespec()
        clock_gettime(id, &a)
        body()
        clock_gettime(id, &b)
        return Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) * 1e-9
    }

    /// Median of `passes` timings of `body` (after one untimed warm-up).
    public static func medianSeconds(passes: Int, _ body: () -> Void) -> Double {
        body()
        return median((0..<max(passes, 1)).map { _ in seconds(body) })
    }

    public static func median(_ values: [Double]) -> Double {
        let t = values.sorted()
        return t.count % 2 == 1 ? t[t.count / 2] : (t[t.count / 2 - 1] + t[t.count / 2]) / 2
    }
}

/// A fast deterministic byte filler (xorshift64*), so building GiB-sized fixtures takes no time.
public struct BenchRandom {
    public var state: UInt64

    /// A generator seeded from any value (splitmix64 of `seed`, never the all-zero state).
    public init(seed: UInt64) {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        state = z == 0 ? 1 : z
    }

    init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Fills `count` bytes with random E4M3 codes that are finite (bit 6 cleared: |v| < 2).
    public mutating func fillCodes(_ p: UnsafeMutablePointer<UInt8>, count: Int) {
        let raw = UnsafeMutableRawPointer(p)
        var i = 0
        while i + 8 <= count {
            raw.storeBytes(of: next() & 0xBFBF_BFBF_BFBF_BFBF, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count { p[i] = UInt8(truncatingIfNeeded: next()) & 0xBF; i += 1 }
    }

    /// Uniform floats in [-1, 1).
    public mutating func fillFloats(_ p: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { p[i] = Float(next() >> 40) * 0x1p-23 - 1 }
    }
}
