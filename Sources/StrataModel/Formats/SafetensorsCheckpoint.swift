import Foundation

/// A Hugging Face safetensors checkpoint: one `.safetensors` file, or a directory holding
/// `model.safetensors.index.json` (sharded; its `weight_map` names each tensor's shard) or
/// `model.safetensors`. Each shard is memory-mapped once; tensors are read in place.
///
/// Reads dtypes F32, F16, BF16 and F8_E4M3. An E4M3 `<p>.weight` comes with its f32 block scales
/// `<p>.weight_scale_inv` (or compressed-tensors' `<p>.weight_scale`) when the checkpoint has them.
public final class SafetensorsCheckpoint: WeightSource, @unchecked Sendable {
    /// The file or directory this checkpoint was opened from.
    public let path: String
    /// `__metadata__` of the first shard.
    public let metadata: [String: String]
    private let shards: [SafetensorsFile]
    /// Tensor name → index into `shards`.
    private let location: [String: Int]

    /// The index file name of a sharded checkpoint.
    public static let indexFileName = "model.safetensors.index.json"
    /// The file name of a single-file checkpoint in a directory.
    public static let singleFileName = "model.safetensors"

    /// Opens a file or directory; throws `WeightFileError` naming the file at fault.
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw WeightFileError.unreadable(file: path, reason: "no such file or directory")
        }
        var files: [String]
        var weightMap: [String: String] = [:]
        if !isDirectory.boolValue {
            files = [path]
        } else if FileManager.default.fileExists(atPath: path + "/" + Self.indexFileName) {
            weightMap = try Self.readWeightMap(path + "/" + Self.indexFileName)
            files = Set(weightMap.values).sorted().map { path + "/" + $0 }
        } else if FileManager.default.fileExists(atPath: path + "/" + Self.singleFileName) {
            files = [path + "/" + Self.singleFileName]
        } else {
            throw WeightFileError.unreadable(file: path, reason: "directory has neither \(Self.indexFileName) nor \(Self.singleFileName)")
        }
        shards = try files.map { try SafetensorsFile(path: $0) }
        var location: [String: Int] = [:]
        for (i, s) in shards.enumerated() { for name in s.entries.keys { location[name] = i } }
        // The index is authoritative: a tensor it places in a shard that lacks it is reported there.
        let shardIndex = Dictionary(uniqueKeysWithValues: files.enumerated().map { ($1, $0) })
        for (name, shardName) in weightMap { location[name] = shardIndex[path + "/" + shardName] }
        self.location = location
        metadata = shards.first?.metadata ?? [:]
    }

    /// Every tensor name in the checkpoint, sorted.
    public var tensorNames: [String] { location.keys.sorted() }

    /// The shard files, in the order they were mapped.
    public var files: [String] { shards.map(\.path) }

    public func contains(_ name: String) -> Bool {
        guard let i = location[name] else { return false }
        return shards[i].entries[name] != nil
    }

    public func tensor(_ name: String) throws -> StoredTensor {
        guard let i = location[name] else { throw WeightFileError.missingTensor(file: path, tensor: name) }
        let shard = shards[i]
        let (encoding, shape, bytes) = try shard.locate(name)
        let scales = encoding == .e4m3 ? try blockScales(for: name, shape: shape) : nil
        return try StoredTensor(name: name, file: shard.path, shape: shape, encoding: encoding, bytes: bytes, blockScales: scales, owner: self)
    }

    /// The f32 block scales of an E4M3 weight, validated to `[ceil(rows/128), ceil(cols/128)]`;
    /// nil when the checkpoint has none.
    private func blockScales(for name: String, shape: [Int]) throws -> UnsafeRawBufferPointer? {
        guard let scaleName = CanonicalName.blockScaleCandidates(for: name).first(where: contains) else { return nil }
        let s = try tensor(scaleName)
        guard s.encoding == .f32 else {
            throw WeightFileError.unsupportedDType(file: s.file, tensor: scaleName, dtype: "\(s.encoding) (FP8 block scales must be F32)")
        }
        let b = StoredTensor.scaleBlock
        let rows = shape.dropLast().reduce(1, *), cols = shape.last ?? 1
        let expected = [(rows + b - 1) / b, (cols + b - 1) / b]
        guard s.shape == expected else {
            throw WeightFileError.shapeMismatch(file: s.file, tensor: scaleName, expected: expected, found: s.shape)
        }
        return s.bytes
    }

    /// Reads `weight_map` (tensor name → shard file name) from an index file.
    private static func readWeightMap(_ indexPath: String) throws -> [String: String] {
        let file = try MappedFile(path: indexPath)
        let json = try? JSONSerialization.jsonObject(with: Data(bytes: file.base, count: file.count))
        guard let top = json as? [String: Any], let map = top["weight_map"] as? [String: Any] else {
            throw WeightFileError.malformedHeader(file: indexPath, reason: "not a JSON object with a weight_map")
        }
        var out: [String: String] = [:]
        for (name, v) in map {
            guard let shard = v as? String, !shard.isEmpty, !shard.contains("/") else {
                throw WeightFileError.malformedHeader(file: indexPath, reason: "weight_map entry for '\(name)' is not a shard file name")
            }
            out[name] = shard
        }
        return out
    }
}
