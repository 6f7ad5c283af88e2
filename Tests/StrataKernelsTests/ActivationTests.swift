import Foundation
import Testing
import StrataKernels

/// Elementwise kernels against Double references. Tolerances are relative and stated per test.
@Suite struct ActivationTests {
    @Test func vectorExpIsWithinTwoUlp() {
        var x: [Float] = stride(from: -87.0, through: 88.0, by: 0.01037).map { Float($0) } + [0, -0.0, 1e-8, -1e-8]
        let input = x
        x.withUnsafeMutableBufferPointer { vectorExp($0.baseAddress!, count: $0.count) }
        for (v, e) in zip(input, x) {
            let ref = Foundation.exp(Double(v))
            #expect(abs(Double(e) - ref) <= 2 * Double(Float(ref).ulp), "exp(\(v)) = \(e), want \(ref)")
        }
    }

    @Test func vectorExpEdges() {
        var x: [Float] = [-100, -1e30, 100, 1e30, .nan, -.infinity]
        x.withUnsafeMutableBufferPointer { vectorExp($0.baseAddress!, count: $0.count) }
        #expect(x[0] == 0 && x[1] == 0 && x[5] == 0)
        #expect(x[2].isFinite && x[2] > 1e38 && x[3].isFinite)
        #expect(x[4].isNaN)
    }

    @Test func softmaxMatchesReference() {
        var rng = TestRandom(seed: 21)
        for n in awkwardSizes + [4096] {
            var x = rng.floats(n).map { $0 * 20 }
            let input = x
            x.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: n) }
            let m = Double(input.max()!)
            let sum = input.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) }
            for i in 0..<n {
                let ref = Foundation.exp(Double(input[i]) - m) / sum
                #expect(abs(Double(x[i]) - ref) <= 1e-6 * ref + 1e-12, "n \(n) i \(i)")
            }
        }
    }

    @Test func siluMulMatchesReference() {
        var rng = TestRandom(seed: 22)
        for n in awkwardSizes + [11008] {
            var gate = rng.floats(n).map { $0 * 30 }
            let up = rng.floats(n), g0 = gate
            up.withUnsafeBufferPointer { u in gate.withUnsafeMutableBufferPointer { siluMul($0.baseAddress!, u.baseAddress!, count: n) } }
            for i in 0..<n {
                let g = Double(g0[i]), ref = g / (1 + Foundation.exp(-g)) * Double(up[i])
                #expect(abs(Double(gate[i]) - ref) <= 1e-6 * abs(ref) + 1e-30, "n \(n) i \(i)")
            }
        }
    }

    @Test func rmsNormMatchesReference() {
        var rng = TestRandom(seed: 23)
        for n in awkwardSizes + [4096] {
            let x = rng.floats(n), w = rng.floats(n)
            var out = [Float](repeating: 0, count: n)
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer {
                rmsNorm(xp.baseAddress!, weight: wp.baseAddress!, count: n, eps: 1e-6, into: $0.baseAddress!)
            } } }
            let inv = 1 / (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n) + 1e-6).squareRoot()
            for i in 0..<n {
                let ref = Double(x[i]) * inv * Double(w[i])
                #expect(abs(Double(out[i]) - ref) <= 1e-6 * abs(ref) + 1e-9, "n \(n) i \(i)")
            }
        }
    }

    @Test func rotaryMatchesScalarFormulaExactly() {
        var rng = TestRandom(seed: 24)
        for headDim in [2, 16, 62, 64, 128] {
            let heads = 3, half = headDim / 2
            var x = rng.floats(heads * headDim)
            let x0 = x, cos = rng.floats(half), sin = rng.floats(half)
            cos.withUnsafeBufferPointer { c in sin.withUnsafeBufferPointer { s in x.withUnsafeMutableBufferPointer {
                applyRotaryHalf($0.baseAddress!, heads: heads, headDim: headDim, cos: c.baseAddress!, sin: s.baseAddress!)
            } } }
            for h in 0..<heads {
                for i in 0..<half {
                    let a = x0[h * headDim + i], b = x0[h * headDim + i + half]
                    #expect(x[h * headDim + i] == a * cos[i] - b * sin[i])
                    #expect(x[h * headDim + i + half] == b * cos[i] + a * sin[i])
                }
            }
        }
    }

    @Test func argmaxTakesFirstMaximum() {
        var rng = TestRandom(seed: 25)
        for n in awkwardSizes + [102400] {
            var x = rng.floats(n)
            let naive = x.indices.max { x[$0] < x[$1] || (x[$0] == x[$1] && $0 > $1) }!
            #expect(x.withUnsafeBufferPointer { argmax($0.baseAddress!, count: n) } == naive)
            if n > 3 {
                x[n - 1] = 5; x[n / 2] = 5
                #expect(x.withUnsafeBufferPointer { argmax($0.baseAddress!, count: n) } == n / 2)
            }
        }
    }

    @Test func vectorLogSumExpMatchesDouble() {
        var rng = TestRandom(seed: 21)
        for n in [1, 2, 7, 8, 15, 16, 17, 33, 49152] {
            let x = (0..<n).map { _ in rng.float() * 30 }
            let m = Double(x.max()!)
            let ref = m + Foundation.log(x.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) })
            let got = x.withUnsafeBufferPointer { vectorLogSumExp($0.baseAddress!, count: n) }
            #expect(abs(Double(got) - ref) <= 1e-6 * max(1, abs(ref)), "n \(n): \(got) vs \(ref)")
        }
        let inf: [Float] = [1, .infinity, 2]
        #expect(inf.withUnsafeBufferPointer { vectorLogSumExp($0.baseAddress!, count: 3) } == .infinity)
    }
}
