import ArgumentParser
import Foundation
import StrataTokenizer

/// `strata tokenize`: JSON Lines in, JSON Lines out, through a tokenizer.json / HF dir / GGUF.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode JSON strings to id arrays (or decode id arrays), one JSON value per line on stdin.")

    @Option(name: .long, help: "A tokenizer.json, an HF model directory, or a .gguf file.")
    var tokenizer: String

    @Flag(name: .long, help: "Read JSON arrays of ids and write JSON strings.")
    var decode = false

    @Flag(name: .long, help: "Do not add the post-processor's special tokens (BOS) when encoding.")
    var noSpecialTokens = false

    @Flag(name: .long, help: "Print load and encode/decode timings to stderr.")
    var timing = false

    func run() throws {
        let t0 = Date()
        let tok: Tokenizer
        do { tok = try Tokenizer.load(path: tokenizer) } catch {
            throw ValidationError("cannot load tokenizer: \(error)")
        }
        let loaded = Date()
        var lines: [String] = []
        while let line = readLine(strippingNewline: true) { lines.append(line) }
        var out = ""
        var work = 0.0, bytes = 0, count = 0
        for (n, line) in lines.enumerated() where !line.isEmpty {
            let value: JSON
            do { value = try JSON.parse(line) } catch { throw ValidationError("line \(n + 1): \(error)") }
            let start = Date()
            if decode {
                guard case let .array(items) = value else { throw ValidationError("line \(n + 1): expected a JSON array of ids") }
                let ids = try items.map { item -> Int in
                    guard case let .number(d) = item, d.rounded() == d, d >= 0, d < 1e9 else {
                        throw ValidationError("line \(n + 1): ids must be non-negative integers")
                    }
                    return Int(d)
                }
                let text = tok.decode(ids)
                work += Date().timeIntervalSince(start)
                out += JSON.quote(text) + "\n"
            } else {
                guard case let .string(text) = value else { throw ValidationError("line \(n + 1): expected a JSON string") }
                let ids = tok.encode(text, addSpecialTokens: !noSpecialTokens)
                work += Date().timeIntervalSince(start)
                bytes += text.utf8.count
                count += ids.count
                out += "[" + ids.map(String.init).joined(separator: ",") + "]\n"
            }
        }
        FileHandle.standardOutput.write(out.data(using: .utf8)!)
        if timing {
            let load = loaded.timeIntervalSince(t0)
            let rate = work > 0 ? Double(bytes) / work / 1e6 : 0
            FileHandle.standardError.write(String(format: "load %.3f s; %@ %d bytes -> %d tokens in %.4f s (%.2f MB/s, %.0f tokens/s)\n",
                                                  load, (decode ? "decode" : "encode") as NSString, bytes, count, work, rate,
                                                  work > 0 ? Double(count) / work : 0).data(using: .utf8)!)
        }
    }
}
