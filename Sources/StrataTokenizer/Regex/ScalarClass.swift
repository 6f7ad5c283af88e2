// Character classes over Unicode scalars. Each scalar of an input is classified once into an
// `info` byte (general category index | whitespace bit), so class tests are table lookups.

/// Per-scalar classification shared by every regex run over one text.
enum ScalarInfo {
    static let whitespaceBit: UInt8 = 0x20
    static let categoryMask: UInt8 = 0x1F

    static let categories: [Unicode.GeneralCategory] = [
        .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
        .nonspacingMark, .spacingMark, .enclosingMark,
        .decimalNumber, .letterNumber, .otherNumber,
        .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
        .initialPunctuation, .finalPunctuation, .otherPunctuation,
        .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol,
        .spaceSeparator, .lineSeparator, .paragraphSeparator,
        .control, .format, .surrogate, .privateUse, .unassigned,
    ]

    static let asciiTable: [UInt8] = (0..<128).map { compute(UInt32($0)) }

    static func compute(_ v: UInt32) -> UInt8 {
        guard let s = Unicode.Scalar(v) else { return 27 }
        let p = s.properties
        let cat = UInt8(categories.firstIndex(of: p.generalCategory) ?? 29)
        return p.isWhitespace ? cat | whitespaceBit : cat
    }

    @inline(__always) static func of(_ v: UInt32) -> UInt8 { v < 128 ? asciiTable[Int(v)] : compute(v) }

    /// Category bit masks by the names regexes use (`\p{L}` etc.).
    static func mask(named name: String) -> UInt32? {
        func bits(_ r: ClosedRange<Int>) -> UInt32 { r.reduce(0) { $0 | 1 << UInt32($1) } }
        let table: [String: UInt32] = [
            "L": bits(0...4), "Lu": 1 << 0, "Ll": 1 << 1, "Lt": 1 << 2, "Lm": 1 << 3, "Lo": 1 << 4,
            "M": bits(5...7), "Mn": 1 << 5, "Mc": 1 << 6, "Me": 1 << 7,
            "N": bits(8...10), "Nd": 1 << 8, "Nl": 1 << 9, "No": 1 << 10,
            "P": bits(11...17), "Pc": 1 << 11, "Pd": 1 << 12, "Ps": 1 << 13, "Pe": 1 << 14,
            "Pi": 1 << 15, "Pf": 1 << 16, "Po": 1 << 17,
            "S": bits(18...21), "Sm": 1 << 18, "Sc": 1 << 19, "Sk": 1 << 20, "So": 1 << 21,
            "Z": bits(22...24), "Zs": 1 << 22, "Zl": 1 << 23, "Zp": 1 << 24,
            "C": bits(25...29), "Cc": 1 << 25, "Cf": 1 << 26, "Cs": 1 << 27, "Co": 1 << 28, "Cn": 1 << 29,
        ]
        let aliases = ["Letter": "L", "Mark": "M", "Number": "N", "Punctuation": "P", "Symbol": "S",
                       "Separator": "Z", "Other": "C"]
        return table[aliases[name] ?? name]
    }

    static let allCategories: UInt32 = (1 << 30) - 1
    static let wordCategories: UInt32 = mask(named: "L")! | mask(named: "M")! | mask(named: "Nd")! | mask(named: "Pc")!
}

/// A set of scalars: explicit ranges, general categories and whitespace, possibly negated.
struct ScalarClass: Sendable {
    /// Sorted, non-overlapping ranges.
    var ranges: [ClosedRange<UInt32>] = []
    /// General categories included (bit i = `ScalarInfo.categories[i]`).
    var categories: UInt32 = 0
    var whitespace = false
    var notWhitespace = false
    var negated = false
    /// Membership of scalars 0..<128, filled by `finish()`.
    var asciiLow: UInt64 = 0
    var asciiHigh: UInt64 = 0

    mutating func add(_ r: ClosedRange<UInt32>) { ranges.append(r) }

    /// Sorts and merges ranges and precomputes the ASCII bitmap.
    mutating func finish() {
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in ranges {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else { merged.append(r) }
        }
        ranges = merged
        asciiLow = 0; asciiHigh = 0
        for v in 0..<128 where slowContains(UInt32(v), info: ScalarInfo.asciiTable[v]) {
            if v < 64 { asciiLow |= 1 << UInt64(v) } else { asciiHigh |= 1 << UInt64(v - 64) }
        }
    }

    @inline(__always) func contains(_ v: UInt32, info: UInt8) -> Bool {
        if v < 64 { return asciiLow >> UInt64(v) & 1 != 0 }
        if v < 128 { return asciiHigh >> UInt64(v - 64) & 1 != 0 }
        return slowContains(v, info: info)
    }

    func slowContains(_ v: UInt32, info: UInt8) -> Bool {
        var hit = categories >> UInt32(info & ScalarInfo.categoryMask) & 1 != 0
        if !hit, whitespace { hit = info & ScalarInfo.whitespaceBit != 0 }
        if !hit, notWhitespace { hit = info & ScalarInfo.whitespaceBit == 0 }
        if !hit, !ranges.isEmpty { hit = rangesContain(v) }
        return hit != negated
    }

    func rangesContain(_ v: UInt32) -> Bool {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < ranges.count && ranges[lo].contains(v)
    }

    /// Adds the simple case variants of every range member (for `(?i)`); ranges stay small here.
    mutating func addCaseVariants() {
        var extra: [ClosedRange<UInt32>] = []
        for r in ranges where r.count <= 2048 {
            for v in r {
                for f in CaseFold.variants(v) where f != v { extra.append(f...f) }
            }
        }
        ranges += extra
    }
}

/// Simple (single-scalar) case folding, enough for `(?i:'s|'t|...)` style patterns.
enum CaseFold {
    static func fold(_ v: UInt32) -> UInt32 {
        if v < 128 { return (v >= 65 && v <= 90) ? v + 32 : v }
        if v == 0x17F { return 0x73 }   // ſ folds to s
        if v == 0x212A { return 0x6B }  // Kelvin sign folds to k
        if v == 0x212B { return 0xE5 }  // Angstrom sign folds to å
        guard let s = Unicode.Scalar(v) else { return v }
        let lower = s.properties.lowercaseMapping.unicodeScalars
        return lower.count == 1 ? lower.first!.value : v
    }

    static func variants(_ v: UInt32) -> [UInt32] {
        var out: [UInt32] = [v, fold(v)]
        if let s = Unicode.Scalar(v) {
            let u = s.properties.uppercaseMapping.unicodeScalars
            if u.count == 1 { out.append(u.first!.value) }
        }
        switch fold(v) {
        case 0x73: out.append(0x17F)
        case 0x6B: out.append(0x212A)
        case 0xE5: out.append(0x212B)
        default: break
        }
        return out
    }
}
