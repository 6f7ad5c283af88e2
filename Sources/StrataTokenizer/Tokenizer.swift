import StrataModel

// The tokenizer pipeline of HF `tokenizers` (tokenizer/mod.rs): added tokens are cut out first,
// the rest is normalized, pre-tokenized and encoded by the BPE model, then post-processed.

/// A byte-level BPE tokenizer equal to Hugging Face `tokenizers` for the supported components.
/// Immutable after loading and safe to share between threads.
public final class Tokenizer: Sendable {
    /// The pipeline stages, in the order `encode` applies them (decoder: `decode`).
    public let normalizer: Normalizer?
    public let preTokenizer: PreTokenizer?
    public let model: BPEModel
    public let postProcessor: PostProcessor?
    public let decoder: Decoder?
    /// Added tokens by id.
    public let addedTokens: [Int: AddedToken]
    /// Tokens matched on raw text (normalized == false) and on normalized text.
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// Ids of special added tokens (skipped by `decode(skipSpecialTokens: true)`).
    let specialIDs: Set<Int>
    /// Beginning / end of sequence ids when the source names them (GGUF, tokenizer_config.json).
    public let bosTokenID: Int?
    /// See `bosTokenID`.
    public let eosTokenID: Int?

    init(normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: BPEModel, postProcessor: PostProcessor?,
         decoder: Decoder?, addedTokens: [AddedToken], bosTokenID: Int?, eosTokenID: Int?) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.addedTokens = Dictionary(addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { _, b in b })
        rawMatcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized }.map { (Array($0.content.unicodeScalars.map(\.value)), $0) })
        normalizedMatcher = AddedTokenMatcher(addedTokens.filter(\.normalized).map {
            (Array((normalizer?.apply($0.content) ?? $0.content).unicodeScalars.map(\.value)), $0)
        })
        specialIDs = Set(addedTokens.filter(\.special).map(\.id))
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
    }

    /// Number of ids (the largest id + 1).
    public var vocabularySize: Int { model.tokens.count }

    /// Encodes `text` like HF `Tokenizer.encode(text, add_special_tokens=...).ids`; added tokens in
    /// the text (special or not) are recognized.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        for seg in rawMatcher.split(text.unicodeScalars.map(\.value)) {
            switch seg {
            case let .token(id): ids.append(id)
            case let .text(s): encodeRawSegment(s, into: &ids)
            }
        }
        guard addSpecialTokens, let postProcessor else { return ids }
        return postProcessor.process(ids)
    }

    func encodeRawSegment(_ s: ArraySlice<UInt32>, into ids: inout [Int]) {
        var scalars = Array(s)
        if let normalizer {
            let text = String(String.UnicodeScalarView(s.map { Unicode.Scalar($0)! }))
            scalars = normalizer.apply(text).unicodeScalars.map(\.value)
        }
        for seg in normalizedMatcher.split(scalars) {
            switch seg {
            case let .token(id): ids.append(id)
            case let .text(t): encodeNormalized(Array(t), into: &ids)
            }
        }
    }

    func encodeNormalized(_ scalars: [UInt32], into ids: inout [Int]) {
        var pieces = Pieces(ScalarText(scalars))
        preTokenizer?.apply(&pieces)
        for r in pieces.ranges { model.encode(pieces.text.scalars[r], into: &ids) }
    }

    /// The token string of an id (added tokens included), or nil for an unknown id.
    public func token(for id: Int) -> String? {
        if let t = addedTokens[id] { return t.content }
        return id >= 0 && id < model.tokens.count ? model.tokens[id] : nil
    }

    /// The id of a token string (added tokens included).
    public func id(for token: String) -> Int? {
        let raw = RawString(token)
        if let t = addedTokens.values.first(where: { RawString($0.content) == raw }) { return t.id }
        return model.id(for: token)
    }

    /// Decodes ids like HF `Tokenizer.decode(ids, skip_special_tokens=...)`; unknown ids are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        let toks = ids.compactMap { id -> String? in
            if skipSpecialTokens, specialIDs.contains(id) { return nil }
            return token(for: id)
        }
        guard let decoder else { return toks.joined(separator: " ") }
        return decoder.decodeChain(toks).joined()
    }
}
