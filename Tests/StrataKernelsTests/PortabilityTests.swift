import Testing
import StrataKernels

/// Every kernel's output on fixed inputs, pinned to values recorded when the kernels last changed
/// numerically: a toolchain or refactor that alters a result (reassociation, a contracted
/// multiply-add, another libm) fails here. The kernels use only explicit fma, exact conversions and
/// fixed reduction trees; the stated tolerance (1e-6 relative) leaves room for a toolchain's libm.
/// The variants agree with each other bit for bit (KernelVariantTests).
@Suite struct PortabilityTests {
    /// One value from each kernel on fixed-seed inputs.
    static func kernelOutputs() -> [Float] {
        let pool = ThreadPool(threads: 2)
        var rng = TestRandom(seed: 2024)
        var out: [Float] = []
        let w = randomFP8(rows: 5, cols: 300, seed: 1)
        let x = rng.floats(300 * 3)
        out += forward(w, Array(x[0..<300]), batch: 1, pool: pool)
        out += forward(w, x, batch: 3, pool: pool).enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
        out += forward(randomF32(rows: 3, cols: 77, seed: 2), rng.floats(77), batch: 1, pool: pool)
        var e: [Float] = [-20, -1.5, 0.3, 7, 60]
        e.withUnsafeMutableBufferPointer { vectorExp($0.baseAddress!, count: 5) }
        var s = rng.floats(19).map { $0 * 8 }
        s.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: 19) }
        var g = rng.floats(11).map { $0 * 6 }
        let up = rng.floats(11)
        up.withUnsafeBufferPointer { u in g.withUnsafeMutableBufferPointer { siluMul($0.baseAddress!, u.baseAddress!, count: 11) } }
        let a = AttentionTests.Case(tokens: 9, heads: 4, kvHeads: 2, headDim: 24, seed: 5).run(first: 0, count: 9, pool: pool)
        return out + e + [s[0], s[18]] + [g[0], g[10]] + [a[0], a[a.count - 1]]
    }

    /// Recorded from the AVX2 build (AVX2+FMA+F16C); every variant computes the same.
    static let native: [Float] = [
        14.262682, 0.8174074, -7.551402, -6.609353, -8.755812, 14.262682, -8.755812, 17.945824, -22.926426, 3.6438186, 1.5730889, 2.864047, 2.0611537e-09,
        0.22313017, 1.3498588, 1096.6332, 1.1420074e+26, 0.41611496, 0.015697276, -0.106393576, -0.1348478, 0.1845789, 0.38300824,
    ]

    @Test func outputsMatchRecordedValues() {
        let got = Self.kernelOutputs()
        #expect(got.count == Self.native.count, "record: \(got.map { "\($0)" }.joined(separator: ", "))")
        for (i, (g, n)) in zip(got, Self.native).enumerated() {
            #expect(abs(g - n) <= 1e-6 * max(abs(n), 1e-3), "value \(i): \(g) vs recorded \(n)")
        }
    }
}
