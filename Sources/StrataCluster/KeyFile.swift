import Foundation
import StrataTransport

/// A CURVE key pair on disk (`strata keys generate`): two lines, `public: <Z85>` and
/// `secret: <Z85>`, readable by its owner only. cluster.yaml lists the public halves.
public enum KeyFile {
    /// Writes a new key pair to `path` (mode 0600; refuses to overwrite) and returns it.
    public static func generate(path: String) throws -> CurveKeyPair {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw ClusterError.keyFile(path: path, reason: "already exists; remove it first to make a new key")
        }
        let pair = try CurveKeyPair.generate()
        let text = "public: \(Z85.encode(pair.publicKey))\nsecret: \(Z85.encode(pair.secretKey))\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ClusterError.keyFile(path: path, reason: "cannot be written")
        }
        return pair
    }

    /// Reads a key file; typed errors name what is wrong.
    public static func load(path: String) throws -> CurveKeyPair {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClusterError.keyFile(path: path, reason: "cannot be read")
        }
        var fields: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard let pub = fields["public"].flatMap(Z85.decodeKey) else {
            throw ClusterError.keyFile(path: path, reason: "has no valid 'public: <40 Z85 characters>' line")
        }
        guard let sec = fields["secret"].flatMap(Z85.decodeKey) else {
            throw ClusterError.keyFile(path: path, reason: "has no valid 'secret: <40 Z85 characters>' line")
        }
        return CurveKeyPair(publicKey: pub, secretKey: sec)
    }
}
