import StrataKernels

// Exact decoders from stored encodings to f32. The ggml block decoders follow ggml-quants.c
// (`dequantize_row_q8_0/q4_0/q4_1/q5_0/q5_1/q4_K/q5_K/q6_K`) operation for operation, so results are bitwise
// those of ggml's reference and of gguf-py's `gguf.quants.dequantize` (GGUFCheckpointTests).
// Hot loops read through raw pointers with no per-element allocation; they run at load time
// over every weight of the model.

/// Plain float encodings (f32, f16, bf16, E4M3). Each converts 16 lanes into a SIMD16 register
/// with a per-lane loop and stores it whole: such loops compile to vector conversions, whereas
/// SIMD-type conversions are outlined calls (shared/REFERENCES.md, "Making E4M3 fast").
enum FloatDecoder {
    static func f32(_ src: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: count * 4)
    }

    /// f16 → f32 (exact), through the kernels (vcvtph2ps where the CPU has F16C).
    static func f16(_ src: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        Kernels.active.f16ToF32(src, count, out)
    }

    /// bf16 is the top half of an f32.
    static func bf16(_ src: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out)
        var i = 0
        while i &+ 16 <= count {
            let h = src.loadUnaligned(fromByteOffset: i &* 2, as: SIMD16<UInt16>.self)
            var v = SIMD16<UInt32>()
            for k in 0..<16 { v[k] = UInt32(h[k]) &<< 16 }
            o.storeBytes(of: v, toByteOffset: i &* 4, as: SIMD16<UInt32>.self)
            i &+= 16
        }
        for j in i..<count { out[j] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: j &* 2, as: UInt16.self)) << 16) }
    }

    /// E4M3 codes times `scale`: the code's value (exact in f32) times the scale, one rounding.
    static func e4m3(_ src: UnsafeRawPointer, count: Int, scale: Float, into out: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out)
        var i = 0
        while i &+ 16 <= count {
            let b = src.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            var u = SIMD16<UInt16>(), v = SIMD16<Float>()
            var nanCount: UInt8 = 0
            for k in 0..<16 { u[k] = UInt16(b[k]) }
            let h = (u & 0x7F) &<< 7 | (u & 0x80) &<< 8
            for k in 0..<16 { v[k] = Float(Float16(bitPattern: h[k])) }
            for k in 0..<16 { nanCount |= ((b[k] & 0x7F) &+ 1) & 0x80 }  // 0x80 iff some code is S.1111.111
            v = v * 256 * scale
            if nanCount != 0 { for k in 0..<16 where b[k] & 0x7F == 0x7F { v[k] = .nan } }
            o.storeBytes(of: v, toByteOffset: i &* 4, as: SIMD16<Float>.self)
            i &+= 16
        }
        for j in i..<count { out[j] = e4m3Value(src.load(fromByteOffset: j, as: UInt8.self)) * scale }
    }

    /// The exact value of an E4M3 code (bias 7, subnormals m·2⁻⁹, NaN only at S.1111.111): its bits
    /// placed in an f16 (bias 15) give value/256 exactly, subnormals included; ×256 is exact.
    @inline(__always)
    static func e4m3Value(_ b: UInt8) -> Float {
        let h = UInt16(b & 0x7F) &<< 7 | UInt16(b & 0x80) &<< 8
        let v = Float(Float16(bitPattern: h)) * 256
        return b & 0x7F == 0x7F ? .nan : v
    }
}

/// ggml block-quantized encodings.
enum GGMLDequantizer {
    /// Whether `decode` handles `type`.
    static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K: return true
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
        case .q5_0: q5_0(src, blocks: blocks, into: out)
        case .q5_1: q5_1(src, blocks: blocks, into: out)
        case .q4_K: q4_K(src, blocks: blocks, into: out)
        case .q5_K: q5_K(src, blocks: blocks, into: out)
        case .q6_K: q6_K(src, blocks: blocks, into: out)
        default: preconditionFailure("ggml type \(type) has no decoder")
        }
    }

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Stores 16 floats at `out + offset` (elements), unaligned.
    @inline(__always)
    static func store(_ v: SIMD16<Float>, _ out: UnsafeMutablePointer<Float>, _ offset: Int) {
        UnsafeMutableRawPointer(out + offset).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// Low and high nibbles of 16 bytes as floats.
    @inline(__always)
    static func nibbles(_ p: UnsafeRawPointer) -> (low: SIMD16<Float>, high: SIMD16<Float>) {
        let b = p.loadUnaligned(as: SIMD16<UInt8>.self)
        var lo = SIMD16<Float>(), hi = SIMD16<Float>()
        for k in 0..<16 {
            lo[k] = Float(b[k] & 0xF)
            hi[k] = Float(b[k] >> 4)
        }
        return (lo, hi)
    }

    /// Q8_0 block (34 B): f16 d, int8 q[32]; y = q·d.
    static func q8_0(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 34, y = out + b &* 32
            let d = half(p, 0)
            for h in 0..<2 {
                let q = p.loadUnaligned(fromByteOffset: 2 &+ h &* 16, as: SIMD16<Int8>.self)
                var v = SIMD16<Float>()
                for k in 0..<16 { v[k] = Float(q[k]) }
                store(v * d, y, h &* 16)
            }
        }
    }

    /// Q4_0 block (18 B): f16 d, nibbles q[32] (low nibbles first 16); y = (q − 8)·d.
    static func q4_0(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 18, y = out + b &* 32
            let d = half(p, 0)
            let (lo, hi) = nibbles(p + 2)
            store((lo - 8) * d, y, 0)  // q − 8 is exact in f32, as ggml's integer subtraction
            store((hi - 8) * d, y, 16)
        }
    }

    /// Q4_1 block (20 B): f16 d, f16 m, nibbles q[32]; y = q·d + m (not fused, as ggml).
    static func q4_1(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 20, y = out + b &* 32
            let d = half(p, 0), m = half(p, 2)
            let (lo, hi) = nibbles(p + 4)
            store(lo * d + m, y, 0)
            store(hi * d + m, y, 16)
        }
    }

    /// Fifth bits as 0 or 16: bit `shift + k` of `bits` for lane k.
    @inline(__always)
    static func highBits(_ bits: UInt32, shift: UInt32) -> SIMD16<Float> {
        var v = SIMD16<Float>()
        for k in 0..<16 { v[k] = Float(((bits &>> (shift &+ UInt32(k))) & 1) &<< 4) }
        return v
    }

    /// Q5_0 block (22 B): f16 d, u32 qh (fifth bit of element e at bit e), nibbles q[32];
    /// y = (q − 16)·d.
    static func q5_0(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 22, y = out + b &* 32
            let d = half(p, 0)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let (lo, hi) = nibbles(p + 6)
            store((lo + highBits(qh, shift: 0) - 16) * d, y, 0)  // integer-valued, exact
            store((hi + highBits(qh, shift: 16) - 16) * d, y, 16)
        }
    }

    /// Q5_1 block (24 B): f16 d, f16 m, u32 qh, nibbles q[32]; y = q·d + m.
    static func q5_1(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 24, y = out + b &* 32
            let d = half(p, 0), m = half(p, 2)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let (lo, hi) = nibbles(p + 8)
            store((lo + highBits(qh, shift: 0)) * d + m, y, 0)
            store((hi + highBits(qh, shift: 16)) * d + m, y, 16)
        }
    }

    /// Q5_K super-block (176 B): as Q4_K (d, dmin, 12 scale bytes) then qh[32] (bit 2k / 2k+1 of
    /// byte l is the fifth bit of element l of sub-block 2k / 2k+1) and nibbles q[256];
    /// y = (d·sc)·q − dmin·m.
    static func q5_K(_ src: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b &* 176, y = out + b &* 256
            let d = half(p, 0), dmin = half(p, 2)
            let sc = (p + 4).assumingMemoryBound(to: UInt8.self)
            for k in 0..<4 {
                let (s1, m1) = scaleMinK4(2 &* k, sc), (s2, m2) = scaleMinK4(2 &* k &+ 1, sc)
                let d1 = d * Float(s1), n1 = dmin * Float(m1)
                let d2 = d * Float(s2), n2 = dmin * Float(m2)
                for h in 0..<2 {
                    let qh = p.loadUnaligned(fromByteOffset: 16 &+ h &* 16, as: SIMD16<UInt8>.self)
                    var h1 = SIMD16<Float>(), h2 = SIMD16<Float>()
                    for l in 0..<16 {
                        h1[l] = Float(((qh[l] &>> UInt8(2 &* k)) & 1) &<< 4)
                        h2[l] = Float(((qh[l] &>> UInt8(2 &* k &+ 1)) & 1) &<< 4)
                    }
                    let (lo, hi) = nibbles(p + (48 &+ k &* 32 &+ h &* 16))
                    store(d1 * (lo + h1) - n1, y, k &* 64 &+ h &* 16)
                    store(d2 * (hi + h2) - n2, y, k &* 64 &+ 32 &+ h &* 16)
                }
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
            for k in 0..<4 {
                let (s1, m1) = scaleMinK4(2 &* k, sc), (s2, m2) = scaleMinK4(2 &* k &+ 1, sc)
                let d1 = d * Float(s1), n1 = dmin * Float(m1)
                let d2 = d * Float(s2), n2 = dmin * Float(m2)
                for h in 0..<2 {
                    let (lo, hi) = nibbles(p + (16 &+ k &* 32 &+ h &* 16))
                    store(d1 * lo - n1, y, k &* 64 &+ h &* 16)
                    store(d2 * hi - n2, y, k &* 64 &+ 32 &+ h &* 16)
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
                let sc = (p + (192 &+ n &* 8)).assumingMemoryBound(to: Int8.self)
                let y = out + (b &* 256 &+ n &* 128)
                for c in 0..<2 {  // 16-element chunks: l = 16c ..< 16c + 16, scale index c (+2, +4, +6)
                    let l0 = n &* 64 &+ c &* 16
                    let a = p.loadUnaligned(fromByteOffset: l0, as: SIMD16<UInt8>.self)
                    let e = p.loadUnaligned(fromByteOffset: l0 &+ 32, as: SIMD16<UInt8>.self)
                    let h = p.loadUnaligned(fromByteOffset: 128 &+ n &* 32 &+ c &* 16, as: SIMD16<UInt8>.self)
                    var q1 = SIMD16<Float>(), q2 = SIMD16<Float>(), q3 = SIMD16<Float>(), q4 = SIMD16<Float>()
                    for k in 0..<16 {
                        q1[k] = Float(Int32((a[k] & 0xF) | ((h[k] & 3) << 4)) &- 32)
                        q2[k] = Float(Int32((e[k] & 0xF) | (((h[k] >> 2) & 3) << 4)) &- 32)
                        q3[k] = Float(Int32((a[k] >> 4) | (((h[k] >> 4) & 3) << 4)) &- 32)
                        q4[k] = Float(Int32((e[k] >> 4) | (((h[k] >> 6) & 3) << 4)) &- 32)
                    }
                    store(d * Float(sc[c]) * q1, y, c &* 16)
                    store(d * Float(sc[c &+ 2]) * q2, y, 32 &+ c &* 16)
                    store(d * Float(sc[c &+ 4]) * q3, y, 64 &+ c &* 16)
                    store(d * Float(sc[c &+ 6]) * q4, y, 96 &+ c &* 16)
                }
            }
        }
    }
}
