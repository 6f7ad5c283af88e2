import Foundation
import Testing
import StrataKernels

/// Causal GQA attention against a naive Double reference (|out − ref| ≤ 2e-6, inputs in [-1, 1]),
/// and prefill == step-by-step decode bit for bit.
@Suite struct AttentionTests {
    struct Case {
        let tokens, heads, kvHeads, headDim: Int
        let q, k, v: [Float]
        init(tokens: Int, heads: Int, kvHeads: Int, headDim: Int, seed: UInt64) {
            self.tokens = tokens; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
            var rng = TestRandom(seed: seed)
            q = rng.floats(tokens * heads * headDim)
            k = rng.floats(tokens * kvHeads * headDim)
            v = rng.floats(tokens * kvHeads * headDim)
        }
        var scale: Float { 1 / Float(headDim).squareRoot() }

        /// Attention for tokens [first, first+count), the cache holding every position.
        func run(first: Int, count: Int, pool: ThreadPool) -> [Float] {
            var out = [Float](repeating: .nan, count: count * heads * headDim)
            q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                out.withUnsafeMutableBufferPointer {
                    causalAttention(q: qp.baseAddress! + first * heads * headDim, keys: kp.baseAddress!, values: vp.baseAddress!,
                                    queryCount: count, start: first, heads: heads, kvHeads: kvHeads, headDim: headDim,
                                    scale: scale, into: $0.baseAddress!, pool: pool)
                }
            } } }
            return out
        }

        func reference(token t: Int, head h: Int) -> [Double] {
            let kvh = h / (heads / kvHeads), kvStride = kvHeads * headDim
            let qv = (0..<headDim).map { Double(q[(t * heads + h) * headDim + $0]) }
            var s = (0...t).map { p in (0..<headDim).reduce(0.0) { $0 + qv[$1] * Double(k[p * kvStride + kvh * headDim + $1]) } * Double(scale) }
            let m = s.max()!
            s = s.map { Foundation.exp($0 - m) }
            let z = s.reduce(0, +)
            return (0..<headDim).map { d in (0...t).reduce(0.0) { $0 + s[$1] / z * Double(v[$1 * kvStride + kvh * headDim + d]) } }
        }
    }

    @Test(arguments: [(1, 1, 8), (4, 4, 16), (8, 2, 13), (8, 1, 64), (6, 3, 128)])
    func matchesNaiveReference(heads: Int, kvHeads: Int, headDim: Int) {
        let c = Case(tokens: 33, heads: heads, kvHeads: kvHeads, headDim: headDim, seed: UInt64(heads * 100 + headDim))
        let out = c.run(first: 0, count: c.tokens, pool: ThreadPool(threads: 2))
        for t in [0, 1, 7, 31, 32] {
            for h in 0..<heads {
                let ref = c.reference(token: t, head: h)
                for d in 0..<headDim {
                    #expect(abs(Double(out[(t * heads + h) * headDim + d]) - ref[d]) <= 2e-6, "t \(t) h \(h) d \(d)")
                }
            }
        }
    }

    @Test(arguments: [(8, 8), (8, 2), (64, 8)])
    func prefillEqualsStepByStepDecode(heads: Int, kvHeads: Int) {
        let c = Case(tokens: 40, heads: heads, kvHeads: kvHeads, headDim: 128, seed: 77)
        let pool = ThreadPool(threads: 2)
        let prefill = c.run(first: 0, count: c.tokens, pool: pool)
        let row = heads * c.headDim
        var chunked: [Float] = []
        for (first, count) in [(0, 17), (17, 1), (18, 22)] { chunked += c.run(first: first, count: count, pool: pool) }
        #expect(bits(chunked) == bits(prefill))
        for t in [0, 1, 16, 17, 39] {
            let step = c.run(first: t, count: 1, pool: ThreadPool(threads: 1))
            #expect(bits(step) == bits(Array(prefill[(t * row)..<((t + 1) * row)])), "token \(t)")
        }
    }
}
