import Foundation
import StrataModel
import StrataTestSupport
import Testing

/// Corrupt and unsupported safetensors checkpoints fail with typed errors naming file and tensor.
@Suite struct SafetensorsErrorTests {
    let dir: String
    init() throws { dir = try temporaryDirectory() }

    /// Writes `bytes` to `name` in the temp directory and returns its path.
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A file with header `json` (declared length `declared`, default its true length) and `data`.
    func file(_ name: String, json: String, data: [UInt8] = [], declared: UInt64? = nil) throws -> String {
        let header = Array(json.utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: (declared ?? UInt64(header.count)).littleEndian) { out += $0 }
        return try write(name, out + header + data)
    }

    func malformedReason(_ body: () throws -> Void) -> String? {
        do { try body() } catch let WeightFileError.malformedHeader(_, reason) { return reason } catch { return "other: \(error)" }
        return nil
    }

    @Test func truncatedHeaders() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let short = try write("short.safetensors", [1, 2, 3, 4, 5])
        #expect(malformedReason { _ = try SafetensorsCheckpoint(path: short) }?.contains("truncated") == true)
        let past = try file("past.safetensors", json: "{}", declared: 100)
        #expect(malformedReason { _ = try SafetensorsCheckpoint(path: past) }?.contains("truncated") == true)
        let huge = try file("huge.safetensors", json: "{}", declared: 1 << 40)
        #expect(malformedReason { _ = try SafetensorsCheckpoint(path: huge) }?.contains("implausible") == true)
        let empty = try write("empty.safetensors", [])
        #expect(malformedReason { _ = try SafetensorsCheckpoint(path: empty) }?.contains("truncated") == true)
    }

    @Test func corruptJSON() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let garbage = try file("garbage.safetensors", json: "{\"a\": {\"dtype\": \"F32\", ")
        #expect(malformedReason { _ = try SafetensorsCheckpoint(path: garbage) } == "header is not valid JSON")
        let array = try file("array.safetensors", json: "[1, 2]")
        #expect(malformedReason { _ = try SafetensorsCheckpoint(path: array) } == "header is not a JSON object")
        for (name, entry) in [
            ("nodtype", "{\"shape\":[1],\"data_offsets\":[0,4]}"),
            ("badshape", "{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}"),
            ("badoffsets", "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}"),
            ("oneoffset", "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}"),
        ] {
            let path = try file(name + ".safetensors", json: "{\"w\":\(entry)}", data: [0, 0, 0, 0])
            let err = #expect(throws: WeightFileError.self) { _ = try SafetensorsCheckpoint(path: path) }
            guard case .malformedTensor(path, "w", _) = err else {
                Issue.record("\(name): expected malformedTensor naming w, got \(String(describing: err))")
                continue
            }
        }
    }

    @Test func tensorErrorsNameFileAndTensor() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let json = """
            {"__metadata__":{"format":"pt"},
             "past":{"dtype":"F32","shape":[16],"data_offsets":[0,64]},
             "size":{"dtype":"F32","shape":[4],"data_offsets":[0,12]},
             "i64":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},
             "e5m2":{"dtype":"F8_E5M2","shape":[4],"data_offsets":[0,4]},
             "ok":{"dtype":"F16","shape":[2],"data_offsets":[16,20]}}
            """
        let path = try file("bad.safetensors", json: json, data: [UInt8](repeating: 0, count: 16) + [0x00, 0x3C, 0x00, 0xC0])
        let ckpt = try SafetensorsCheckpoint(path: path)
        #expect(try ckpt.tensor("ok").dequantized() == [1, -2])
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
        let dataStart = 8 + json.utf8.count
        #expect(throws: WeightFileError.outOfBounds(file: path, tensor: "past", offset: dataStart, length: 64, fileSize: size)) {
            try ckpt.tensor("past")
        }
        #expect(throws: WeightFileError.unsupportedDType(file: path, tensor: "i64", dtype: "I64")) { try ckpt.tensor("i64") }
        #expect(throws: WeightFileError.unsupportedDType(file: path, tensor: "e5m2", dtype: "F8_E5M2")) { try ckpt.tensor("e5m2") }
        #expect(throws: WeightFileError.missingTensor(file: path, tensor: "nope")) { try ckpt.tensor("nope") }
        let err = #expect(throws: WeightFileError.self) { try ckpt.tensor("size") }
        guard case .malformedTensor(path, "size", _) = err else {
            Issue.record("expected malformedTensor, got \(String(describing: err))")
            return
        }
    }

    @Test func badBlockScales() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/fp8.safetensors"
        try SafetensorsWriter.write([
            .e4m3("w.weight", shape: [2, 3], codes: [0x38, 0, 0, 0, 0, 0]),
            .f32("w.weight_scale_inv", shape: [2, 1], [1, 1]),
            .e4m3("v.weight", shape: [2, 3], codes: [0x38, 0, 0, 0, 0, 0]),
            .f16("v.weight_scale", shape: [1, 1], [2]),
            .e4m3("u.weight", shape: [1, 2], codes: [0x38, 0xB8]),
        ], to: path)
        let ckpt = try SafetensorsCheckpoint(path: path)
        #expect(throws: WeightFileError.shapeMismatch(file: path, tensor: "w.weight_scale_inv", expected: [1, 1], found: [2, 1])) {
            try ckpt.tensor("w.weight")
        }
        #expect(throws: WeightFileError.unsupportedDType(file: path, tensor: "v.weight_scale", dtype: "f16 (FP8 block scales must be F32)")) {
            try ckpt.tensor("v.weight")
        }
        let u = try ckpt.tensor("u.weight")
        #expect(u.blockScales == nil && u.dequantized() == [1, -1])
    }

    @Test func badDirectories() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: WeightFileError.unreadable(file: dir + "/none", reason: "no such file or directory")) {
            _ = try SafetensorsCheckpoint(path: dir + "/none")
        }
        let err = #expect(throws: WeightFileError.self) { _ = try SafetensorsCheckpoint(path: dir) }
        guard case .unreadable(dir, _) = err else { Issue.record("expected unreadable, got \(String(describing: err))"); return }

        let sharded = dir + "/sharded"
        try SafetensorsWriter.writeSharded([[.f32("a", shape: [1], [1])], [.f32("b", shape: [1], [2])]], to: sharded)
        let index = sharded + "/model.safetensors.index.json"
        let shard1 = sharded + "/model-00001-of-00002.safetensors"
        // The index places "b" in shard 1, which does not hold it.
        try Data(#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors"}}"#.utf8)
            .write(to: URL(fileURLWithPath: index))
        let ckpt = try SafetensorsCheckpoint(path: sharded)
        #expect(!ckpt.contains("b"))
        #expect(throws: WeightFileError.missingTensor(file: shard1, tensor: "b")) { try ckpt.tensor("b") }
        // A shard the index names is missing.
        try FileManager.default.removeItem(atPath: shard1)
        let missing = #expect(throws: WeightFileError.self) { _ = try SafetensorsCheckpoint(path: sharded) }
        guard case .unreadable(shard1, _) = missing else { Issue.record("expected unreadable shard, got \(String(describing: missing))"); return }
        try Data("not json".utf8).write(to: URL(fileURLWithPath: index))
        #expect(throws: WeightFileError.malformedHeader(file: index, reason: "not a JSON object with a weight_map")) {
            _ = try SafetensorsCheckpoint(path: sharded)
        }
    }
}
