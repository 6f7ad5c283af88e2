import Testing
import StrataKernels

/// Every kernel variant this CPU runs (generic, avx2, avx512) returns bit for bit what the
/// generic variant returns, for every entry point of `KernelSet` — the property that lets one
/// cluster mix AVX2 and AVX-512 boxes and still give the tokens of one process.
///
/// Shapes cover every path: ragged widths (300, 77 columns), the GEMV (batch 1), the streaming
/// GEMM's 2-row (batch 3) and 3-row passes (batch 16), the tiled GEMM (batch 60), the f16 GEMV
/// and 1×4 path, the f32 3×4/3×1 micro-kernels, attention across group and head-dim remainders.
@Suite struct KernelVariantTests {
    /// Every output of every entry point on fixed-seed inputs, in one array.
    static func outputs(_ kernels: KernelSet) -> [Float] {
        let pool = ThreadPool(threads: 2, kernels: kernels)
        var rng = TestRandom(seed: 77)
        var out: [Float] = []
        let fp8 = randomFP8(rows: 200, cols: 300, seed: 3)
        for batch in [1, 3, 16, 60] { out += forward(fp8, rng.floats(300 * batch), batch: batch, pool: pool) }
        let f32 = randomF32(rows: 31, cols: 77, seed: 4)
        for batch in [1, 6] { out += forward(f32, rng.floats(77 * batch), batch: batch, pool: pool) }
        let f16 = F16Matrix(rows: 37, cols: 90) { start, count, dst in
            var r = TestRandom(seed: UInt64(start) &+ 9)
            for i in 0..<(count * 90) { dst[i] = r.float() }
        }
        for batch in [1, 7] { out += forward(f16, rng.floats(90 * batch), batch: batch, pool: pool) }
        for (heads, kv, dim) in [(4, 2, 24), (6, 1, 70)] {
            out += AttentionTests.Case(tokens: 9, heads: heads, kvHeads: kv, headDim: dim, seed: 5).run(first: 0, count: 9, pool: pool)
        }
        var x = rng.floats(203).map { $0 * 30 }
        x.withUnsafeMutableBufferPointer { kernels.vectorExp($0.baseAddress!, 203) }
        out += x
        var s = rng.floats(203).map { $0 * 8 }
        s.withUnsafeMutableBufferPointer { kernels.softmax($0.baseAddress!, 203) }
        out += s
        out.append(s.withUnsafeBufferPointer { kernels.vectorLogSumExp($0.baseAddress!, 203) })
        out.append(Float(s.withUnsafeBufferPointer { kernels.argmax($0.baseAddress!, 203) }))
        var g = rng.floats(203).map { $0 * 6 }
        let up = rng.floats(203)
        up.withUnsafeBufferPointer { u in g.withUnsafeMutableBufferPointer { kernels.siluMul($0.baseAddress!, u.baseAddress!, 203) } }
        out += g
        let w = rng.floats(203)
        var n = rng.floats(203)
        w.withUnsafeBufferPointer { wp in n.withUnsafeMutableBufferPointer { kernels.rmsNorm($0.baseAddress!, wp.baseAddress!, 203, 1e-5, $0.baseAddress!) } }
        out += n
        var q = rng.floats(3 * 40)
        let cos = rng.floats(20), sin = rng.floats(20)
        cos.withUnsafeBufferPointer { c in sin.withUnsafeBufferPointer { sn in
            q.withUnsafeMutableBufferPointer { kernels.applyRotaryHalf($0.baseAddress!, 3, 40, c.baseAddress!, sn.baseAddress!) }
        } }
        out += q
        let h = rng.floats(77)
        var half = [Float16](repeating: 0, count: 77)
        h.withUnsafeBufferPointer { src in half.withUnsafeMutableBufferPointer { kernels.f16FromF32(src.baseAddress!, $0.baseAddress!, 77) } }
        out += half.map { Float($0) }
        var widened = [Float](repeating: 0, count: 77)
        half.withUnsafeBytes { h in widened.withUnsafeMutableBufferPointer { kernels.f16ToF32(h.baseAddress!, 77, $0.baseAddress!) } }
        out += widened
        // The quantizer: a 130 × 200 matrix in two row blocks (scale search + encode, ragged edges).
        let wq = rng.floats(130 * 200).map { $0 * 3 }
        var codes = [UInt8](repeating: 0, count: 130 * 200), scales = [Float](repeating: 0, count: 4)
        wq.withUnsafeBufferPointer { q in codes.withUnsafeMutableBufferPointer { c in scales.withUnsafeMutableBufferPointer { s in
            kernels.fp8QuantizeTile(q.baseAddress!, 128, 200, 0, c.baseAddress!, s.baseAddress!)
            kernels.fp8QuantizeTile(q.baseAddress! + 128 * 200, 2, 200, 128, c.baseAddress!, s.baseAddress!)
        } } }
        out += codes.map { Float($0) } + scales
        out.append(wq.withUnsafeBufferPointer { kernels.fp8BlockScale($0.baseAddress! + 64, 77, 100, 200) })
        return out
    }

    @Test func everyVariantMatchesGeneric() {
        let available = Kernels.available()
        #expect(available.first?.isa == .generic)
        let reference = bits(Self.outputs(available[0]))
        #expect(reference.count > 5000)
        for set in available.dropFirst() {
            let got = bits(Self.outputs(set))
            let firstDiff = zip(got, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(got == reference, "\(set.isa) differs from generic first at output \(firstDiff ?? -1)")
        }
        print("kernel variants checked against generic: \(available.map(\.isa.rawValue).joined(separator: ", "))")
    }

    /// STRATA_ISA: a name, refused when unknown or not runnable here, with what is missing.
    @Test func selectionHonoursAndRefuses() throws {
        // ops/test reruns these tests under each STRATA_ISA: the whole process must take it.
        if let forced = ProcessEnvironment.current["STRATA_ISA"] {
            #expect(Kernels.active.isa.rawValue == forced)
            print("kernel tests running on the \(Kernels.active.isa.rawValue) variant (STRATA_ISA)")
        }
        let none = CPUFeatures(flags: [])
        #expect(try Kernels.select(environment: [:], cpu: none).isa == .generic)
        #expect(try Kernels.select(environment: ["STRATA_ISA": "generic"], cpu: .current).isa == .generic)
        #expect(throws: KernelSelectionError.unknown("sse9")) { try Kernels.select(environment: ["STRATA_ISA": "sse9"], cpu: none) }
        #if arch(x86_64)
        let haswell = CPUFeatures(flags: Set(CPUFeatures.required(for: .avx2)))
        #expect(try Kernels.select(environment: [:], cpu: haswell).isa == .avx2)
        #expect(throws: KernelSelectionError.unsupported(.avx512, missing: ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "xsave-avx512"])) {
            try Kernels.select(environment: ["STRATA_ISA": "avx512"], cpu: haswell)
        }
        var noFMA = Set(CPUFeatures.required(for: .avx2)); noFMA.remove("fma")
        #expect(throws: KernelSelectionError.unsupported(.avx2, missing: ["fma"])) {
            try Kernels.select(environment: ["STRATA_ISA": "avx2"], cpu: CPUFeatures(flags: noFMA))
        }
        #expect("\(KernelSelectionError.unsupported(.avx2, missing: ["fma"]))" == "STRATA_ISA=avx2: this CPU lacks fma")
        #endif
    }

    /// CPUID agrees with the kernel's view of the CPU (/proc/cpuinfo) on what the variants need.
    @Test func cpuidAgreesWithProcCpuinfo() throws {
        #if arch(x86_64) && os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let proc = Set(line.split(separator: ":").last!.split(separator: " ").map(String.init))
        let aliases = ["bmi1": "bmi1", "lzcnt": "abm"]
        for name in ["avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "movbe", "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"] {
            let procName = aliases[name] ?? name
            #expect(CPUFeatures.current.flags.contains(name) == proc.contains(procName), "\(name): CPUID and /proc/cpuinfo disagree")
        }
        #endif
    }
}
