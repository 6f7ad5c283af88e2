#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// A checkpoint tensor still in its file encoding, read in place from a memory map, and the row
// decoder every loader uses (safetensors and GGUF alike).

/// How a stored tensor's elements are encoded.
public enum TensorEncoding: Sendable, Equatable {
    /// IEEE binary32.
    case f32
    /// IEEE binary16.
    case f16
    /// bfloat16 (the top half of a binary32).
    case bf16
    /// OCP FP8 E4M3 (`float8_e4m3fn`), optionally with 128×128 block scales.
    case e4m3
    /// A ggml block quantization (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K are decoded).
    case ggml(GGMLType)

    /// (elements per block, bytes per block); plain floats are one-element blocks.
    public var blockLayout: (elements: Int, bytes: Int) {
        switch self {
        case .f32: return (1, 4)
        case .f16, .bf16: return (1, 2)
        case .e4m3: return (1, 1)
        case let .ggml(t): return t.blockLayout
        }
    }

    /// Whether `StoredTensor.dequantizeRows` can decode this encoding.
    public var isDecodable: Bool {
        switch self {
        case .f32, .f16, .bf16, .e4m3: return true
        case let .ggml(t): return GGMLDequantizer.supports(t)
        }
    }
}

/// Where a tensor's logical rows (the order of `shape`) lie in the file.
public enum StoredRowOrder: Sendable, Equatable {
    /// Logical row r is stored row r.
    case natural
    /// llama.cpp's `convert_hf_to_gguf.py` rotary permutation of Q/K projections, undone on read.
    /// Within each head of `headDim` rows (elements, for a 1-D bias), stored row `2*i + j` holds
    /// HF row `j*(headDim/2) + i`, so decoding yields the HF (rotate-half RoPE) order.
    case ropeInterleaved(headDim: Int)

    /// The stored row that holds logical (HF) row `row`.
    @inline(__always)
    public func storedRow(_ row: Int) -> Int {
        switch self {
        case .natural: return row
        case let .ropeInterleaved(hd):
            let half = hd / 2
            let head = row / hd, r = row - head * hd
            let j = r / half, i = r - j * half
            return head * hd + 2 * i + j
        }
    }
}

/// A checkpoint tensor still in its file encoding, read in place from the memory map.
/// `shape` is row-major, outermost first, HF convention: a linear weight is `[out, in]`.
///
/// The pointers point into the checkpoint's memory map, which the tensor keeps alive (`owner`).
public struct StoredTensor: @unchecked Sendable {
    /// Canonical (HF) name.
    public let name: String
    /// The file the bytes come from.
    public let file: String
    /// Row-major shape, outermost first.
    public let shape: [Int]
    public let encoding: TensorEncoding
    /// Exactly the tensor's bytes (length validated), rows in file order (see `rowOrder`).
    public let bytes: UnsafeRawBufferPointer
    /// For F8_E4M3 weights: the f32 block scales `[ceil(out/128), ceil(in/128)]` (`weight_scale_inv`,
    /// or `weight_scale` of compressed-tensors — both multipliers). `nil`: every scale is 1.
    public let blockScales: UnsafeRawBufferPointer?
    /// Where each logical row lies in `bytes` (GGUF Q/K projections are stored permuted).
    public let rowOrder: StoredRowOrder

    /// Keeps the memory holding `bytes` and `blockScales` mapped while this tensor exists; a
    /// weight that reads `bytes` in place after loading holds it too.
    public let owner: AnyObject?

    /// The E4M3 block edge (DeepSeek-V3 / HF `weight_block_size: [128, 128]`).
    public static let scaleBlock = 128

    /// Wraps bytes already located in a file, validating that their length matches shape × encoding,
    /// that rows are whole quantization blocks, and that block scales (if any) have the block shape.
    /// - Parameter owner: an object that keeps `bytes` and `blockScales` valid (the checkpoint).
    public init(
        name: String, file: String, shape: [Int], encoding: TensorEncoding, bytes: UnsafeRawBufferPointer,
        blockScales: UnsafeRawBufferPointer? = nil, rowOrder: StoredRowOrder = .natural, owner: AnyObject? = nil
    ) throws {
        self.owner = owner
        self.name = name
        self.file = file
        self.shape = shape
        self.encoding = encoding
        self.bytes = bytes
        self.blockScales = blockScales
        self.rowOrder = rowOrder
        try validate()
    }

    /// Product of all but the last dimension (1 for 1-D and 0-D).
    public var rows: Int { shape.dropLast().reduce(1, *) }
    /// The last dimension (1 for 0-D).
    public var cols: Int { shape.last ?? 1 }
    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes of one stored row.
    public var rowByteCount: Int {
        let (be, bb) = encoding.blockLayout
        return cols / be * bb
    }

    /// Decodes logical rows `[start, start+count)` into `out` (`count*cols` floats), exactly:
    /// f16/bf16 and ggml blocks as ggml's reference dequantizers, E4M3 times its block scale.
    /// Safe to call concurrently on disjoint outputs.
    public func dequantizeRows(_ start: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(start >= 0 && count >= 0 && start + count <= rows, "rows [\(start), \(start + count)) outside [0, \(rows)) of \(name)")
        precondition(encoding.isDecodable, "\(name): \(encoding) cannot be decoded (the checkpoint should have refused it)")
        guard count > 0, cols > 0, let base = bytes.baseAddress else { return }
        if shape.count <= 1, case .ropeInterleaved = rowOrder {
            decodePermutedVector(base, into: out)
        } else if case .e4m3 = encoding {
            for r in 0..<count { decodeE4M3Row(start + r, base: base, into: out + r * cols) }
        } else if rowOrder == .natural {
            decode(base + start * rowByteCount, elements: count * cols, into: out)
        } else {
            for r in 0..<count { decode(base + rowOrder.storedRow(start + r) * rowByteCount, elements: cols, into: out + r * cols) }
        }
    }

    /// The stored bytes of logical row `row` (whole blocks, file encoding), after `rowOrder`:
    /// for kernels that consume blocks directly. E4M3 rows still need their `blockScales`.
    public func rowBytes(_ row: Int) -> UnsafeRawBufferPointer {
        precondition(row >= 0 && row < rows, "row \(row) outside [0, \(rows)) of \(name)")
        precondition(shape.count > 1 || rowOrder == .natural, "\(name): a permuted vector has no stored row order")
        return UnsafeRawBufferPointer(rebasing: bytes[rowOrder.storedRow(row) * rowByteCount ..< (rowOrder.storedRow(row) + 1) * rowByteCount])
    }

    /// The whole tensor decoded (`elementCount` floats, logical order). For tests and small tensors.
    public func dequantized() -> [Float] {
        [Float](unsafeUninitializedCapacity: elementCount) { buf, n in
            if let p = buf.baseAddress, elementCount > 0 { dequantizeRows(0, count: rows, into: p) }
            n = elementCount
        }
    }

    /// Decodes `elements` consecutive stored elements (whole blocks) starting at `src`.
    private func decode(_ src: UnsafeRawPointer, elements: Int, into out: UnsafeMutablePointer<Float>) {
        switch encoding {
        case .f32: FloatDecoder.f32(src, count: elements, into: out)
        case .f16: FloatDecoder.f16(src, count: elements, into: out)
        case .bf16: FloatDecoder.bf16(src, count: elements, into: out)
        case .e4m3: FloatDecoder.e4m3(src, count: elements, scale: 1, into: out)
        case let .ggml(t): GGMLDequantizer.decode(t, src, elements: elements, into: out)
        }
    }

    /// One E4M3 row: each 128-column span times its block scale.
    private func decodeE4M3Row(_ row: Int, base: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
        let src = base + rowOrder.storedRow(row) * cols
        guard let scales = blockScales?.baseAddress else {
            FloatDecoder.e4m3(src, count: cols, scale: 1, into: out)
            return
        }
        let b = Self.scaleBlock
        let scaleRow = scales + (row / b) * ((cols + b - 1) / b) * 4
        var c = 0
        while c < cols {
            let n = min(b, cols - c)
            let s = scaleRow.loadUnaligned(fromByteOffset: (c / b) * 4, as: Float.self)
            FloatDecoder.e4m3(src + c, count: n, scale: s, into: out + c)
            c += n
        }
    }

    /// A permuted 1-D tensor (a Q/K bias): decode, then gather elements into HF order.
    private func decodePermutedVector(_ base: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: cols)
        defer { tmp.deallocate() }
        decode(base, elements: cols, into: tmp)
        for i in 0..<cols { out[i] = tmp[rowOrder.storedRow(i)] }
    }

    private func validate() throws {
        func bad(_ reason: String) -> WeightFileError { .malformedTensor(file: file, tensor: name, reason: reason) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw bad("negative dimension in shape \(shape)") }
        var n = 1
        for d in shape {
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p < 1 << 48 else { throw bad("shape \(shape) is implausibly large") }
            n = p
        }
        let (be, bb) = encoding.blockLayout
        guard cols % be == 0 else { throw bad("row of \(cols) elements is not a whole number of \(be)-element blocks") }
        guard bytes.count == n / be * bb else {
            throw bad("\(bytes.count) bytes, but shape \(shape) of \(encoding) needs \(n / be * bb)")
        }
        if case let .ropeInterleaved(hd) = rowOrder {
            let span = shape.count <= 1 ? cols : rows
            guard hd >= 2, hd % 2 == 0, span % hd == 0 else { throw bad("cannot un-permute \(span) rows in heads of \(hd)") }
        }
        if let s = blockScales {
            guard encoding == .e4m3 else { throw bad("block scales given for a \(encoding) tensor") }
            let b = Self.scaleBlock
            let want = (rows + b - 1) / b * ((cols + b - 1) / b) * 4
            guard s.count == want else { throw bad("block scales are \(s.count) bytes, expected \(want) (f32 [ceil(\(rows)/128), ceil(\(cols)/128)])") }
        }
    }
}

extension StoredTensor {
    /// Drops this tensor's whole pages from the process's mapping once its values were converted
    /// into memory of their own (they stay in the page cache). A checkpoint whose FP8 weights are
    /// read in place stays mapped after loading; without this, every converted tensor's source
    /// pages (a BF16 embedding and head: 3.4 GB for a 67B shape) would still count in the RSS.
    public func releasePages() {
        Self.release(bytes)
        if let blockScales { Self.release(blockScales) }
    }

    private static func release(_ b: UnsafeRawBufferPointer) {
        guard let base = b.baseAddress, b.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + page - 1) / page * page
        let end = (Int(bitPattern: base) + b.count) / page * page
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, Int32(MADV_DONTNEED))
    }
}
