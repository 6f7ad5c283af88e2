/// A Prometheus histogram: cumulative bucket counts, sum and count (one label set).
struct Histogram: Sendable {
    /// Upper bounds, ascending; `+Inf` is implicit.
    let bounds: [Double]
    private(set) var counts: [UInt64]
    private(set) var sum: Double = 0
    private(set) var count: UInt64 = 0

    init(bounds: [Double]) {
        precondition(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "histogram bounds must ascend")
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ value: Double) {
        if let i = bounds.firstIndex(where: { value <= $0 }) { counts[i] += 1 }
        sum += value
        count += 1
    }

    /// `name_bucket{labels,le=...}`, `name_sum`, `name_count` lines.
    func render(name: String, labels: String, into out: inout String) {
        let sep = labels.isEmpty ? "" : labels + ","
        var cumulative: UInt64 = 0
        for (bound, c) in zip(bounds, counts) {
            cumulative += c
            out += "\(name)_bucket{\(sep)le=\"\(Exposition.number(bound))\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{\(sep)le=\"+Inf\"} \(count)\n"
        let braces = labels.isEmpty ? "" : "{\(labels)}"
        out += "\(name)_sum\(braces) \(Exposition.number(sum))\n"
        out += "\(name)_count\(braces) \(count)\n"
    }

    /// Latency buckets from 1 ms to 60 s.
    static let latencyBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5,
                                          0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 20, 30, 60]
    /// Request duration buckets from 50 ms to 20 min.
    static let durationBounds: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200]
    /// Per-stage / per-hop buckets from 10 µs to 10 s.
    static let stepBounds: [Double] = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                       0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}

/// Prometheus text exposition format 0.0.4 helpers.
enum Exposition {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// A label value with `\`, `"` and newlines escaped.
    static func escape(_ value: String) -> String {
        var out = ""
        for ch in value {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }

    /// `a="x",b="y"` from ordered pairs.
    static func labels(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
    }

    /// A sample value: integers without a fraction, infinities as `+Inf`/`-Inf`.
    static func number(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "+Inf" : "-Inf" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    static func header(_ name: String, _ type: String, _ help: String, into out: inout String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }
}
