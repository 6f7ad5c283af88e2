import Foundation

/// Rotary position embedding tables, HF rotate-half convention (transformers `LlamaRotaryEmbedding`),
/// with Llama-3 frequency scaling (`_compute_llama3_parameters`).
public final class RopeTable: @unchecked Sendable {
    public let headDim: Int
    /// inv_freq (headDim/2,)
    public let inverseFrequencies: [Float]
    private var cosines: [Float] = []
    private var sines: [Float] = []
    private var positions = 0
    private let lock = NSLock()

    public init(config: ModelConfig) {
        headDim = config.headDim
        let half = config.headDim / 2
        var inv = (0..<half).map { i in Float(1.0 / pow(config.ropeTheta, Double(2 * i) / Double(config.headDim))) }
        if let s = config.ropeScaling { inv = RopeTable.llama3(inv, s) }
        inverseFrequencies = inv
    }

    /// Llama-3 scaling: long wavelengths divided by `factor`, short kept, smooth blend between.
    static func llama3(_ inv: [Float], _ s: ModelConfig.Llama3RopeScaling) -> [Float] {
        let lowWavelen = Double(s.originalMaxPositions) / s.lowFreqFactor
        let highWavelen = Double(s.originalMaxPositions) / s.highFreqFactor
        return inv.map { f in
            let wavelen = 2 * Double.pi / Double(f)
            if wavelen < highWavelen { return f }
            if wavelen > lowWavelen { return Float(Double(f) / s.factor) }
            let smooth = (Double(s.originalMaxPositions) / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor)
            return Float((1 - smooth) * Double(f) / s.factor + smooth * Double(f))
        }
    }

    /// Ensures tables cover positions `0..<n`.
    public func reserve(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        guard n > positions else { return }
        let newN = max(n, positions * 2, 256)
        let half = headDim / 2
        cosines.reserveCapacity(newN * half)
        sines.reserveCapacity(newN * half)
        for p in positions..<newN {
            for i in 0..<half {
                // As HF: angle computed in f32 (position × inv_freq), then cos/sin.
                let angle = Float(p) * inverseFrequencies[i]
                cosines.append(Foundation.cos(angle))
                sines.append(Foundation.sin(angle))
            }
        }
        positions = newN
    }

    /// cos/sin (headDim/2,) for `position`; `reserve` must cover it.
    @inline(__always)
    public func withTables<R>(at position: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> R) -> R {
        let half = headDim / 2
        return cosines.withUnsafeBufferPointer { c in
            sines.withUnsafeBufferPointer { s in body(c.baseAddress! + position * half, s.baseAddress! + position * half) }
        }
    }
}
