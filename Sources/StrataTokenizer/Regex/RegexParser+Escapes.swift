// Escapes and bracket classes for `RegexParser`.

extension RegexParser {
    /// One parsed escape: a single scalar or a class.
    enum Escape {
        case scalar(UInt32)
        case cls(ScalarClass)
    }

    mutating func escapeAtom() throws -> RegexNode {
        guard i + 1 < s.count else { throw invalid("trailing backslash") }
        switch s[i + 1] {
        case 0x41: i += 2; return .textStart          // \A
        case 0x7A: i += 2; return .textEnd            // \z
        case 0x5A: i += 2; return .textEndNewline     // \Z
        case 0x62: throw unsupported("word boundary \\b")
        case 0x42: throw unsupported("non-word boundary \\B")
        case 0x47: throw unsupported("\\G anchor")
        default: break
        }
        switch try escape(inClass: false) {
        case let .scalar(v): return literal(v)
        case let .cls(c): return .cls(c)
        }
    }

    /// Parses the escape at `i` (which points at the backslash).
    mutating func escape(inClass: Bool) throws -> Escape {
        i += 1
        guard let c = peek else { throw invalid("trailing backslash") }
        i += 1
        func cls(_ build: (inout ScalarClass) -> Void) -> Escape {
            var k = ScalarClass()
            build(&k)
            k.finish()
            return .cls(k)
        }
        switch Character(Unicode.Scalar(c)!) {
        case "n": return .scalar(0x0A)
        case "r": return .scalar(0x0D)
        case "t": return .scalar(0x09)
        case "f": return .scalar(0x0C)
        case "v": return .scalar(0x0B)
        case "a": return .scalar(0x07)
        case "e": return .scalar(0x1B)
        case "0": return .scalar(0)
        case "b" where inClass: return .scalar(0x08)
        case "x": return .scalar(try hexEscape(fixed: 2))
        case "u": return .scalar(try hexEscape(fixed: 4))
        case "s": return cls { $0.whitespace = true }
        case "S": return cls { $0.notWhitespace = true }
        case "d": return cls { $0.categories = ScalarInfo.mask(named: "Nd")! }
        case "D": return cls { $0.categories = ScalarInfo.allCategories & ~ScalarInfo.mask(named: "Nd")! }
        case "w": return cls { $0.categories = ScalarInfo.wordCategories }
        case "W": return cls { $0.categories = ScalarInfo.allCategories & ~ScalarInfo.wordCategories }
        case "p", "P":
            let mask = try property()
            return cls { $0.categories = c == 0x50 ? ScalarInfo.allCategories & ~mask : mask }
        default:
            let scalar = Unicode.Scalar(c)!
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                throw unsupported("escape \\\(Character(scalar))")
            }
            return .scalar(c)
        }
    }

    /// `\xHH`, `\x{H...}`, `\uHHHH` (after the letter).
    mutating func hexEscape(fixed: Int) throws -> UInt32 {
        var digits: [UInt32] = []
        if fixed == 2, at("{") {
            i += 1
            while let c = peek, c != 0x7D { digits.append(c); i += 1 }
            guard at("}") else { throw invalid("unterminated \\x{") }
            i += 1
        } else {
            while digits.count < fixed, let c = peek, Unicode.Scalar(c)?.properties.isASCIIHexDigit == true {
                digits.append(c); i += 1
            }
        }
        let text = String(String.UnicodeScalarView(digits.compactMap(Unicode.Scalar.init)))
        guard !text.isEmpty, text.count <= 8, let v = UInt32(text, radix: 16), Unicode.Scalar(v) != nil else {
            throw invalid("bad hex escape")
        }
        return v
    }

    /// `{Name}`, `{^Name}` or a single letter after `\p`; returns the category mask.
    mutating func property() throws -> UInt32 {
        var name = ""
        var negate = false
        if at("{") {
            i += 1
            if at("^") { negate = true; i += 1 }
            while let c = peek, c != 0x7D { name.unicodeScalars.append(Unicode.Scalar(c)!); i += 1 }
            guard at("}") else { throw invalid("unterminated \\p{") }
            i += 1
        } else if let c = peek {
            name.unicodeScalars.append(Unicode.Scalar(c)!)
            i += 1
        }
        guard let mask = ScalarInfo.mask(named: name) else { throw unsupported("unicode property \\p{\(name)}") }
        return negate ? ScalarInfo.allCategories & ~mask : mask
    }

    /// Parses `[...]` (with `^` negation, ranges, escapes) into a finished class.
    mutating func bracketClass() throws -> ScalarClass {
        i += 1
        var k = ScalarClass()
        if at("^") { k.negated = true; i += 1 }
        var first = true
        while true {
            guard let c = peek else { throw invalid("unterminated character class") }
            if c == 0x5D, !first { i += 1; break }
            first = false
            if c == 0x5B {
                if i + 1 < s.count, s[i + 1] == 0x3A { throw unsupported("POSIX bracket [:name:]") }
                throw unsupported("nested character class")
            }
            if c == 0x26, i + 1 < s.count, s[i + 1] == 0x26 { throw unsupported("class intersection &&") }
            let lo: UInt32
            if c == 0x5C {
                switch try escape(inClass: true) {
                case let .cls(sub): merge(sub, into: &k); continue
                case let .scalar(v): lo = v
                }
            } else { lo = c; i += 1 }
            try rangeOrSingle(lo, into: &k)
        }
        if caseInsensitive { k.addCaseVariants() }
        k.finish()
        return k
    }

    mutating func rangeOrSingle(_ lo: UInt32, into k: inout ScalarClass) throws {
        guard at("-"), i + 1 < s.count, s[i + 1] != 0x5D else { k.add(lo...lo); return }
        i += 1
        var hi = s[i]
        if hi == 0x5C {
            guard case let .scalar(v) = try escape(inClass: true) else { throw invalid("class escape as range end") }
            hi = v
        } else { i += 1 }
        guard lo <= hi else { throw invalid("reversed range in character class") }
        k.add(lo...hi)
    }

    /// Unions an escape class (`\s`, `\p{L}`, …) into a bracket class.
    func merge(_ sub: ScalarClass, into k: inout ScalarClass) {
        k.categories |= sub.categories
        k.whitespace = k.whitespace || sub.whitespace
        k.notWhitespace = k.notWhitespace || sub.notWhitespace
        k.ranges += sub.ranges
    }
}
