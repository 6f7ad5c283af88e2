// Exact decoders from stored encodings to f32. The ggml block decoders follow ggml-quants.c
// (`dequantize_row_q8_0/q4_0/q4_1/q4_K/q6_K`) operation for operation, so results are bitwise
// those of ggml's reference and of gguf-py's `gguf.quants.dequantize` (Tests: QuantDecodeTests).
// Hot loops read through raw pointers with no per-element allocation; they run at load time
// over every weight of the model.

/// Plain float encodings (f32, f16, bf16, E4M3).
enum FloatDecoder {
    static func f32(_ src: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: count * 4)
    }

    /// Hardware f16 → f32 conversion (exact).
    static func f16(_ src: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            out[i] = Float(Float16(bitPattern: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)))
        }
    }

    /// bf16 is the top half of an f32.
    static func bf16(_ src: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            out[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)) << 16)
        }
    }

    /// E4M3 codes times `scale` (one rounding: the code's value is exact in f32).
    static func e4m3(_ src: UnsafeRawPointer, count: Int, scale: Float, into out: UnsafeMutablePointer<Float>) {
        e4m3Table.withUnsafeBufferPointer { t in
            let b = src.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count { out[i] = t[Int(b[i])] * scale }
        }
    }

    /// The value of every E4M3 code: bias 7, subnormals `m × 2⁻⁹`, NaN only at S.1111.111.
    static let e4m3Table: [Float] = (0..<256).map { code in
        let e = (code >> 3) & 0xF, m = code & 7
        let magnitude: Float
        if e == 15 && m == 7 {
            magnitude = .nan
        } else if e == 0 {
            magnitude = Float(m) * 0x1p-9
        } else {
            magnitude = (1 + Float(m) / 8) * Float(sign: .plus, exponent: e - 7, significand: 1)
        }
        return code & 0x80 != 0 ? -magnitude : magnitude
    }
}

/// ggml block-quantized encodings.
enum GGMLDequantizer {
    /// Whether `decode` handles `type`.
    static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q4_K, .q6_K: return true
        default: return false
        }
    }

    /// Decodes `elements` (a multiple of the block size) starting at `src`.
    static func decode(_ type: GGMLType, _ src: UnsafeRawPointer, elements: Int, into out: UnsafeMutablePointer<Float>) {
        let blocks = elements / type.blockLayout.elements
        switch type {
        case .f32: FloatDecoder.f32(src, count: elements, into: out)
        case .f16: FloatDecoder.f16(src, count: elements, into: out)
        case .bf16: FloatDecoder.bf16(src, count: elements, into: out)
        case .q8_0: q8_0(src, blocks: blocks, into: out)
        case .q4_0: q4_0(src, blocks: blocks, into: out)
        case .q4_1: q4_1(src, blocks: blocks, into: out)
        case .q4_K: q4_K(src, blocks: blocks, into: out)
        case .q6_K: q6_K(src, blocks: blocks, into: out)
        default: preconditionFailure("ggml type \(type) has no decoder")
        }
    }

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Q8_0 block (34 B): f16 d, int8 q[32]; y = q·d.
    static func q8_0(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 34, y = out + b &* 32
            let d = half(p, 0)
            let q = (p + 2).assumingMemoryBound(to: Int8.self)
            for j in 0..<32 { y[j] = Float(q[j]) * d }
        }
    }

    /// Q4_0 block (18 B): f16 d, nibbles q[32] (low nibbles first 16); y = (q − 8)·d.
    static func q4_0(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 18, y = out + b &* 32
            let d = half(p, 0)
            let q = (p + 2).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                y[j] = Float(Int32(q[j] & 0xF) &- 8) * d
                y[j &+ 16] = Float(Int32(q[j] >> 4) &- 8) * d
            }
        }
    }

    /// Q4_1 block (20 B): f16 d, f16 m, nibbles q[32]; y = q·d + m (not fused, as ggml).
    static func q4_1(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 20, y = out + b &* 32
            let d = half(p, 0), m = half(p, 2)
            let q = (p + 4).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                y[j] = Float(q[j] & 0xF) * d + m
                y[j &+ 16] = Float(q[j] >> 4) * d + m
            }
        }
    }

    /// Q4_K super-block (144 B): f16 d, f16 dmin, 12 bytes of packed 6-bit (scale, min) for eight
    /// 32-element sub-blocks, nibbles q[256] (each 32 bytes: low nibbles = sub-block 2k, high = 2k+1);
    /// y = (d·sc)·q − dmin·m.
    static func q4_K(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 144, y = out + b &* 256
            let d = half(p, 0), dmin = half(p, 2)
            let sc = (p + 4).assumingMemoryBound(to: UInt8.self)
            let q = (p + 16).assumingMemoryBound(to: UInt8.self)
            for k in 0..<4 {
                let (s1, m1) = scaleMinK4(2 &* k, sc), (s2, m2) = scaleMinK4(2 &* k &+ 1, sc)
                let d1 = d * Float(s1), n1 = dmin * Float(m1)
                let d2 = d * Float(s2), n2 = dmin * Float(m2)
                let qk = q + k &* 32, yk = y + k &* 64
                for l in 0..<32 {
                    yk[l] = d1 * Float(qk[l] & 0xF) - n1
                    yk[l &+ 32] = d2 * Float(qk[l] >> 4) - n2
                }
            }
        }
    }

    /// The 6-bit (scale, min) of Q4_K sub-block `j` (ggml's `get_scale_min_k4`).
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (UInt8, UInt8) {
        if j < 4 { return (q[j] & 63, q[j &+ 4] & 63) }
        return ((q[j &+ 4] & 0xF) | ((q[j &- 4] >> 6) << 4), (q[j &+ 4] >> 4) | ((q[j] >> 6) << 4))
    }

    /// Q6_K super-block (210 B): low nibbles ql[128], high 2-bit pairs qh[64], int8 scales[16] (one
    /// per 16 elements), f16 d; y = (d·scale)·(q − 32). Each 128-element half uses 64 ql, 32 qh, 8 scales.
    static func q6_K(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 210
            let d = half(p, 208)
            for n in 0..<2 {
                let ql = (p + n &* 64).assumingMemoryBound(to: UInt8.self)
                let qh = (p + (128 &+ n &* 32)).assumingMemoryBound(to: UInt8.self)
                let sc = (p + (192 &+ n &* 8)).assumingMemoryBound(to: Int8.self)
                let y = out + (b &* 256 &+ n &* 128)
                for l in 0..<32 {
                    let s = l / 16
                    let h = qh[l]
                    let q1 = Int32((ql[l] & 0xF) | ((h & 3) << 4)) &- 32
                    let q2 = Int32((ql[l &+ 32] & 0xF) | (((h >> 2) & 3) << 4)) &- 32
                    let q3 = Int32((ql[l] >> 4) | (((h >> 4) & 3) << 4)) &- 32
                    let q4 = Int32((ql[l &+ 32] >> 4) | (((h >> 6) & 3) << 4)) &- 32
                    y[l] = d * Float(sc[s]) * Float(q1)
                    y[l &+ 32] = d * Float(sc[s &+ 2]) * Float(q2)
                    y[l &+ 64] = d * Float(sc[s &+ 4]) * Float(q3)
                    y[l &+ 96] = d * Float(sc[s &+ 6]) * Float(q4)
                }
            }
        }
    }
}
