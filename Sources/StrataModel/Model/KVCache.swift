/// The key/value cache of one session for a contiguous range of layers.
///
/// Per layer, keys and values are `(capacity, kvHeads, headDim)` f32, grown on demand. A pipeline
/// stage holds only its own layers' cache; every stage applies the same KV operations (append,
/// truncate, fork, free), so the caches stay consistent along the pipeline.
public final class KVCache: @unchecked Sendable {
    public let layerRange: Range<Int>
    public let rowWidth: Int
    /// Number of positions written.
    public private(set) var length = 0
    public private(set) var capacity: Int
    private var keys: [UnsafeMutablePointer<Float>]
    private var values: [UnsafeMutablePointer<Float>]

    public init(layerRange: Range<Int>, kvHeads: Int, headDim: Int, initialCapacity: Int = 64) {
        self.layerRange = layerRange
        rowWidth = kvHeads * headDim
        capacity = max(initialCapacity, 1)
        keys = layerRange.map { _ in .allocate(capacity: max(initialCapacity, 1) * kvHeads * headDim) }
        values = layerRange.map { _ in .allocate(capacity: max(initialCapacity, 1) * kvHeads * headDim) }
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Bytes held.
    public var byteCount: Int { 2 * layerRange.count * capacity * rowWidth * 4 }

    /// Keys of `layer`, `(capacity, kvHeads, headDim)`.
    @inline(__always) public func keys(_ layer: Int) -> UnsafeMutablePointer<Float> { keys[layer - layerRange.lowerBound] }
    /// Values of `layer`, `(capacity, kvHeads, headDim)`.
    @inline(__always) public func values(_ layer: Int) -> UnsafeMutablePointer<Float> { values[layer - layerRange.lowerBound] }

    /// Makes room for positions up to `positions` (exclusive), keeping contents.
    public func reserve(_ positions: Int) {
        guard positions > capacity else { return }
        var newCap = capacity
        while newCap < positions { newCap *= 2 }
        for i in keys.indices {
            keys[i] = Self.grow(keys[i], from: length * rowWidth, to: newCap * rowWidth)
            values[i] = Self.grow(values[i], from: length * rowWidth, to: newCap * rowWidth)
        }
        capacity = newCap
    }

    private static func grow(_ p: UnsafeMutablePointer<Float>, from used: Int, to n: Int) -> UnsafeMutablePointer<Float> {
        let q = UnsafeMutablePointer<Float>.allocate(capacity: n)
        q.update(from: p, count: used)
        p.deallocate()
        return q
    }

    /// Marks positions `[length, length+count)` as written (after every layer stored its rows).
    public func commit(_ count: Int) {
        precondition(length + count <= capacity, "commit past reserved capacity")
        length += count
    }

    /// Forgets every position from `position` on (e.g. rejected speculative tokens).
    public func truncate(to position: Int) {
        precondition(position >= 0 && position <= length, "truncate to \(position) of \(length)")
        length = position
    }

    /// A cache of `length` positions whose contents the caller fills layer by layer with
    /// `load(layer:keys:values:)` before any use (live re-sharding assembles a sequence's cache
    /// from the layers a worker kept and the ones other workers sent).
    public convenience init(layerRange: Range<Int>, rowWidth: Int, length: Int) {
        self.init(layerRange: layerRange, kvHeads: 1, headDim: rowWidth, initialCapacity: max(64, length))
        self.length = length
    }

    /// Overwrites positions [0, length) of `layer`: `keys` and `values` each (length, rowWidth).
    public func load(layer: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>) {
        precondition(layerRange.contains(layer), "layer \(layer) outside \(layerRange)")
        keys(layer).update(from: k, count: length * rowWidth)
        values(layer).update(from: v, count: length * rowWidth)
    }

    /// A copy sharing nothing with this cache (prefix sharing between sessions).
    public func fork() -> KVCache {
        let c = KVCache(layerRange: layerRange, kvHeads: 1, headDim: rowWidth, initialCapacity: capacity)
        for i in keys.indices {
            c.keys[i].update(from: keys[i], count: length * rowWidth)
            c.values[i].update(from: values[i], count: length * rowWidth)
        }
        c.length = length
        return c
    }
}
