import ArgumentParser
import Foundation
import StrataTokenizer

/// `strata tokenize`: JSON Lines in, JSON Lines out, through a tokenizer.json / HF dir / GGUF.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode JSON strings to id arrays (or decode id arrays), one JSON value per line on stdin.",
        discussion: """
            Each stdin line is a JSON string; each output line is the JSON array of its ids (HF \
            `Tokenizer.encode(text).ids`, special tokens in the text recognized). With --decode, each \
            line is a JSON array of ids and the output is the decoded JSON string. Empty lines are skipped.
            """)

    @Option(name: .long, help: "A tokenizer.json, an HF model directory, or a .gguf file.")
    var tokenizer: String

    @Flag(name: .long, help: "Read JSON arrays of ids and write JSON strings.")
    var decode = false

    @Flag(name: .long, help: "Do not add the post-processor's special tokens (e.g. BOS) when encoding.")
    var noSpecialTokens = false

    @Flag(name: .long, help: "Drop special tokens when decoding.")
    var skipSpecialTokens = false

    @Flag(name: .long, help: "Print load and encode/decode timings to stderr.")
    var timing = false

    func run() throws {
        let t0 = Date()
        let tok: Tokenizer
        do { tok = try Tokenizer.load(path: tokenizer) } catch { fail("cannot load tokenizer: \(error)") }
        let loadTime = Date().timeIntervalSince(t0)
        var work = 0.0, bytes = 0, tokens = 0, lineNumber = 0
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            if line.isEmpty { continue }
            let value: JSON
            do { value = try JSON.parse(line) } catch { fail("line \(lineNumber): \(error)") }
            let start = Date()
            let out: String
            if decode {
                let ids = idArray(value, line: lineNumber)
                let text = tok.decode(ids, skipSpecialTokens: skipSpecialTokens)
                work += Date().timeIntervalSince(start)
                tokens += ids.count
                bytes += text.utf8.count
                out = JSON.quote(text)
            } else {
                guard case let .string(text) = value else { fail("line \(lineNumber): expected a JSON string") }
                let ids = tok.encode(text, addSpecialTokens: !noSpecialTokens)
                work += Date().timeIntervalSince(start)
                bytes += text.utf8.count
                tokens += ids.count
                out = "[" + ids.map(String.init).joined(separator: ",") + "]"
            }
            FileHandle.standardOutput.write(Data((out + "\n").utf8))
        }
        if timing {
            let rate = work > 0 ? Double(bytes) / work / 1e6 : 0
            let tps = work > 0 ? Double(tokens) / work : 0
            let what = decode ? "decode" : "encode"
            let msg = "load \(fmt(loadTime)) s; \(what) \(bytes) bytes <-> \(tokens) tokens in \(fmt(work, 4)) s "
                + "(\(fmt(rate)) MB/s, \(Int(tps)) tokens/s)\n"
            FileHandle.standardError.write(Data(msg.utf8))
        }
    }

    func idArray(_ value: JSON, line: Int) -> [Int] {
        guard case let .array(items) = value else { fail("line \(line): expected a JSON array of ids") }
        return items.map { item in
            guard case let .number(d) = item, d.rounded() == d, d >= 0, d < 1e9 else {
                fail("line \(line): ids must be non-negative integers")
            }
            return Int(d)
        }
    }

    func fmt(_ v: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", v) }

    /// Reports a usage or input error on stderr and exits with status 1.
    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("strata tokenize: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
