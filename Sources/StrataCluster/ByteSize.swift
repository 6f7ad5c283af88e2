import Foundation

/// Byte sizes as people write them in cluster.yaml: "2GiB", "512MiB", "32GB", "1.5GiB", "1073741824".
public enum ByteSize {
    /// Multipliers by lower-cased unit. Binary (KiB…TiB) and decimal (KB…TB) are both accepted;
    /// bare "K"/"G" are not, because they are ambiguous.
    static let units: [String: Double] = [
        "": 1, "b": 1,
        "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
        "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
    ]

    /// Parses a size; nil when the text is not a positive size with a known unit.
    public static func parse(_ text: String) -> Int? {
        let s = text.trimmingCharacters(in: .whitespaces)
        let number = s.prefix { $0.isNumber || $0 == "." }
        let unit = s.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1,
              let value = Double(number), let scale = units[unit] else { return nil }
        let bytes = (value * scale).rounded(.down)
        guard bytes >= 1, bytes < 0x1p62 else { return nil }
        return Int(bytes)
    }

    /// Bytes as GiB with two decimals ("1.50").
    public static func gib(_ bytes: Int) -> String {
        let v = Double(bytes) / 1_073_741_824
        let hundredths = Int((v * 100).rounded())
        let sign = hundredths < 0 ? "-" : ""
        let a = abs(hundredths)
        return "\(sign)\(a / 100).\(a % 100 < 10 ? "0" : "")\(a % 100)"
    }
}
