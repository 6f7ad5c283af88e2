// GPT-2's reversible byte <-> character map (`bytes_to_unicode` in openai/gpt-2 encoder.py):
// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100 upward in byte order.

enum ByteLevel {
    /// The character standing for each byte.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each mapped character stands for (-1 for characters outside the map), by scalar < 324.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, s) in byteToScalar.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// Maps UTF-8 bytes to the byte-level string (the form vocabularies store).
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out = String.UnicodeScalarView()
        for b in bytes { out.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(out)
    }

    /// Maps a byte-level token back to bytes; nil when it contains a character outside the map.
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard s.value < 324, case let b = scalarToByte[Int(s.value)], b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }
}
