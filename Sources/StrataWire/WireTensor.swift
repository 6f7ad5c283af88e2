/// A raw tensor frame and its description: element type and row-major shape
/// (activations: `[tokenCount, hiddenSize]`). Bytes are little-endian.
public struct WireTensor: Sendable {
    /// Element type of a tensor frame.
    public enum DType: Sendable, Equatable, CustomStringConvertible {
        case f32, bf16

        /// Bytes per element.
        public var byteWidth: Int { self == .f32 ? 4 : 2 }
        public var description: String { self == .f32 ? "f32" : "bf16" }
    }

    public var dtype: DType
    public var shape: [Int]
    public var frame: Frame

    /// Pairs a frame with its description. `WireCodec` checks that they agree.
    public init(dtype: DType, shape: [Int], frame: Frame) {
        self.dtype = dtype
        self.shape = shape
        self.frame = frame
    }

    /// Number of elements the shape describes.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Encodes f32 values as a frame of `dtype` (bf16: round to nearest even). `values.count` must
    /// equal the shape's element count.
    public init(encoding values: UnsafeBufferPointer<Float>, shape: [Int], as dtype: DType = .f32) {
        precondition(values.count == shape.reduce(1, *), "values do not match shape \(shape)")
        let frame = Frame(byteCount: values.count * dtype.byteWidth) { out in
            switch dtype {
            case .f32:
                for i in values.indices {
                    out.storeBytes(of: values[i].bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
                }
            case .bf16:
                for i in values.indices {
                    out.storeBytes(of: BFloat16.bits(from: values[i]).littleEndian, toByteOffset: i * 2, as: UInt16.self)
                }
            }
        }
        self.init(dtype: dtype, shape: shape, frame: frame)
    }

    /// Encodes an array of f32 values (see `init(encoding:shape:as:)`).
    public init(encoding values: [Float], shape: [Int], as dtype: DType = .f32) {
        self = values.withUnsafeBufferPointer { WireTensor(encoding: $0, shape: shape, as: dtype) }
    }

    /// Decodes the frame into `out` as f32 (bf16 widens exactly). `out.count` must equal
    /// the element count.
    public func decode(into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count == elementCount && frame.count == elementCount * dtype.byteWidth,
                     "output does not match tensor \(shape)")
        let raw = frame.bytes
        switch dtype {
        case .f32:
            for i in out.indices {
                out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
        case .bf16:
            for i in out.indices {
                out[i] = BFloat16.float(fromBits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
            }
        }
    }

    /// Decodes the frame as a new f32 array.
    public func floats() -> [Float] {
        [Float](unsafeUninitializedCapacity: elementCount) { buf, n in
            decode(into: buf)
            n = elementCount
        }
    }
}
