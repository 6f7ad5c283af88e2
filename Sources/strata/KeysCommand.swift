import ArgumentParser
import Foundation
import StrataCluster
import Logging
import StrataTransport

/// `strata keys generate --out FILE`: a CURVE key pair for a worker or the coordinator.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "CURVE keys for authenticated, encrypted cluster links.",
        subcommands: [KeysGenerate.self])
}

struct KeysGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a new CURVE key pair to a file (mode 0600) and print its public key for cluster.yaml.")

    @Option(help: "The key file to write (it must not exist).")
    var out: String

    func run() throws {
        let pair = try KeyFile.generate(path: out)
        print("public key: \(Z85.encode(pair.publicKey))")
        print("for cluster.yaml (quoted: Z85 may hold YAML indicators): key: \"\(Z85.encode(pair.publicKey))\"")
        print("wrote \(out) (keep it on the box that uses it; cluster.yaml lists only the public key)")
    }
}

/// Networks for the CLI: CURVE when cluster.yaml (or the worker's options) name keys, otherwise
/// plain, with a loud warning when a socket listens beyond loopback.
enum SecureNetwork {
    static func coordinator(_ cluster: ClusterConfig) throws -> ZeroMQNetwork {
        let context = try ZMQContext()
        guard let security = cluster.security else {
            if !isLoopback(cluster.coordinator.control) || cluster.workers.contains(where: { !isLoopback($0.endpoint) }) {
                Logger(label: "strata.security").warning(
                    "cluster links leave this machine without CURVE: anyone on the network can read prompts and inject batches; add a security: section (strata keys generate)")
            }
            return ZeroMQNetwork(context: context)
        }
        guard let file = security.coordinatorSecretFile else {
            throw ValidationError("cluster.yaml security: needs coordinator_secret_file on the coordinator's box")
        }
        let pair = try KeyFile.load(path: file)
        guard pair.publicKey == security.coordinatorKey else {
            throw ValidationError("\(file) does not hold security.coordinator_key's key pair")
        }
        var servers: [String: [UInt8]] = [:]
        for w in cluster.workers { if let k = w.key { servers[w.endpoint] = k } }
        let curve = CurveSecurity(keyPair: pair, allowedClients: cluster.workers.compactMap(\.key), serverKeys: servers)
        return try ZeroMQNetwork(context: context, curve: curve)
    }

    static func worker(listen: String, keyFile: String?, coordinatorKey: String?) throws -> ZeroMQNetwork {
        let context = try ZMQContext()
        guard let keyFile else {
            if !isLoopback(listen) {
                Logger(label: "strata.security").warning(
                    "listening on \(listen) without CURVE: anyone who can reach it can send batches; start with --key-file and --coordinator-key")
            }
            return ZeroMQNetwork(context: context)
        }
        guard let text = coordinatorKey, let key = Z85.decodeKey(text) else {
            throw ValidationError("--coordinator-key must be the coordinator's public key (40 Z85 characters) with --key-file")
        }
        let curve = CurveSecurity(keyPair: try KeyFile.load(path: keyFile), allowedClients: [key], defaultServerKey: key)
        return try ZeroMQNetwork(context: context, curve: curve)
    }

    static func isLoopback(_ endpoint: String) -> Bool {
        let rest = endpoint.hasPrefix("tcp://") ? String(endpoint.dropFirst(6)) : endpoint
        guard endpoint.hasPrefix("tcp://") else { return true }   // ipc/inproc stay on the box
        let host = rest.lastIndex(of: ":").map { String(rest[..<$0]) } ?? rest
        return host == "localhost" || host.hasPrefix("127.") || host == "[::1]" || host == "::1"
    }
}
