import Foundation

// The BPE model of HF `tokenizers` (models/bpe/model.rs): a word's symbols are merged by rank,
// lowest rank first and leftmost on ties, using a heap over (rank, position).

/// A byte-pair-encoding vocabulary with merge ranks and a per-word result cache.
public final class BPEModel: @unchecked Sendable {
    /// Token string (exact bytes) -> id.
    let vocab: [RawString: Int32]
    /// Id -> token string (nil for ids the vocabulary leaves out).
    public let tokens: [String?]
    /// (left id << 32 | right id) -> (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    let unkID: Int32?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// When true, words arrive as UTF-8 bytes mapped by `ByteLevel` (a ByteLevel pre-tokenizer ran).
    let byteLevel: Bool
    /// Id of each byte's single-character token in byte-level mode (-1 when missing).
    let byteIDs: [Int32]

    private var cache: [WordKey: [Int32]] = [:]
    private let cacheLock = NSLock()
    static let cacheCapacity = 10_000

    init(vocab: [RawString: Int32], merges: [(String, String)], unk: String?, fuseUnk: Bool,
         byteFallback: Bool, ignoreMerges: Bool, byteLevel: Bool, extraTokens: [Int: String]) throws {
        self.vocab = vocab
        let maxID = max(vocab.values.max().map(Int.init) ?? -1, extraTokens.keys.max() ?? -1)
        var tokens = [String?](repeating: nil, count: maxID + 1)
        for (t, id) in vocab { tokens[Int(id)] = t.string }
        for (id, t) in extraTokens where tokens[id] == nil { tokens[id] = t }
        self.tokens = tokens
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = vocab[RawString(a)] else { throw TokenizerError.unknownToken(keyPath: "model.merges[\(rank)]", token: a) }
            guard let ib = vocab[RawString(b)] else { throw TokenizerError.unknownToken(keyPath: "model.merges[\(rank)]", token: b) }
            guard let m = vocab[RawString(a + b)] else { throw TokenizerError.unknownToken(keyPath: "model.merges[\(rank)]", token: a + b) }
            let key = UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib))
            if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(UInt32(m)) }
        }
        self.merges = table
        if let unk {
            guard let id = vocab[RawString(unk)] else { throw TokenizerError.unknownToken(keyPath: "model.unk_token", token: unk) }
            unkID = id
        } else { unkID = nil }
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.byteLevel = byteLevel
        byteIDs = ByteLevel.byteToScalar.map { vocab[RawString(String(Unicode.Scalar($0)!))] ?? -1 }
    }

    /// Appends the ids of one pre-tokenized word.
    func encode(_ word: ArraySlice<UInt32>, into out: inout [Int]) {
        let key = WordKey(word)
        cacheLock.lock()
        let hit = cache[key]
        cacheLock.unlock()
        if let hit {
            for id in hit { out.append(Int(id)) }
            return
        }
        let ids = encodeUncached(String(String.UnicodeScalarView(word.lazy.map { Unicode.Scalar($0)! })))
        cacheLock.lock()
        if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
        cache[key] = ids
        cacheLock.unlock()
        for id in ids { out.append(Int(id)) }
    }

    func encodeUncached(_ word: String) -> [Int32] {
        if byteLevel {
            if ignoreMerges, let id = vocab[RawString(ByteLevel.encode(word.utf8))] { return [id] }
            let ids = word.utf8.compactMap { b -> Int32? in
                let id = byteIDs[Int(b)]
                return id >= 0 ? id : unkID
            }
            return merge(ids)
        }
        if ignoreMerges, let id = exactID(word) { return [id] }
        return merge(initialSymbols(word))
    }

    /// The id of a model token (exact bytes; added tokens are not included).
    public func id(for token: String) -> Int? { vocab[RawString(token)].map(Int.init) }

    func exactID(_ s: String) -> Int32? { vocab[RawString(s)] }

    /// Character symbols for non-byte-level words, with byte fallback or unk for unknown ones.
    func initialSymbols(_ word: String) -> [Int32] {
        var ids: [Int32] = []
        var lastWasUnk = false
        for ch in word.unicodeScalars {
            if let id = exactID(String(ch)) { ids.append(id); lastWasUnk = false; continue }
            if byteFallback {
                let bytes = Array(String(ch).utf8).compactMap { vocab[RawString(String(format: "<0x%02X>", $0))] }
                if bytes.count == String(ch).utf8.count { ids += bytes; lastWasUnk = false; continue }
            }
            guard let unk = unkID else { continue }
            if !(fuseUnk && lastWasUnk) { ids.append(unk) }
            lastWasUnk = true
        }
        return ids
    }

    /// Applies merges to a symbol sequence.
    func merge(_ initial: [Int32]) -> [Int32] {
        let n = initial.count
        guard n > 1 else { return initial }
        var ids = initial
        var next = (0..<n).map { Int32($0 + 1) }
        next[n - 1] = -1
        var prev = (0..<n).map { Int32($0 - 1) }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        @inline(__always) func push(_ pos: Int32) {
            let nx = next[Int(pos)]
            guard nx >= 0, let m = merges[UInt64(UInt32(ids[Int(pos)])) << 32 | UInt64(UInt32(ids[Int(nx)]))] else { return }
            heap.push((m >> 32) << 32 | UInt64(UInt32(pos)))
        }
        for i in 0..<n - 1 { push(Int32(i)) }
        while let top = heap.pop() {
            let pos = Int(UInt32(truncatingIfNeeded: top)), rank = top >> 32
            let nx = Int(next[pos])
            guard alive[pos], nx >= 0,
                  let m = merges[UInt64(UInt32(ids[pos])) << 32 | UInt64(UInt32(ids[nx]))], m >> 32 == rank else { continue }
            ids[pos] = Int32(truncatingIfNeeded: m)
            alive[nx] = false
            next[pos] = next[nx]
            if next[nx] >= 0 { prev[Int(next[nx])] = Int32(pos) }
            if prev[pos] >= 0 { push(prev[pos]) }
            push(Int32(pos))
        }
        var out: [Int32] = []
        var i: Int32 = 0
        while i >= 0 { out.append(ids[Int(i)]); i = next[Int(i)] }
        return out
    }
}

/// A binary min-heap of packed (rank << 32 | position) keys.
struct MinHeap {
    var items: [UInt64] = []

    mutating func push(_ v: UInt64) {
        items.append(v)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard items[p] > items[i] else { break }
            items.swapAt(p, i)
            i = p
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, items[l] < items[m] { m = l }
                if r < items.count, items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

/// A cache key holding a word's exact scalars: up to 16 UTF-8 bytes inline, longer words in an array.
/// (Strings would not do: Swift compares them by canonical equivalence, so "e\u{301}" == "\u{E9}".)
struct WordKey: Hashable {
    var lo: UInt64 = 0
    var hi: UInt64 = 0
    var count = 0
    var long: [UInt32]? = nil

    init(_ word: ArraySlice<UInt32>) {
        var n = 0
        for v in word {
            var buf: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
            var k = 0
            for b in UTF8.encode(Unicode.Scalar(v)!)! {
                switch k { case 0: buf.0 = b; case 1: buf.1 = b; case 2: buf.2 = b; default: buf.3 = b }
                k += 1
            }
            guard n + k <= 16 else { long = Array(word); lo = 0; hi = 0; count = -1; return }
            for j in 0..<k {
                let b = j == 0 ? buf.0 : j == 1 ? buf.1 : j == 2 ? buf.2 : buf.3
                if n < 8 { lo |= UInt64(b) << UInt64(8 * n) } else { hi |= UInt64(b) << UInt64(8 * (n - 8)) }
                n += 1
            }
        }
        count = n
    }
}
