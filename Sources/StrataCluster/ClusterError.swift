/// Errors from cluster configuration and planning. Configuration errors name the key path
/// (`workers[1].memory`) and the line of `cluster.yaml` they come from.
public enum ClusterError: Error, Equatable, CustomStringConvertible {
    /// The cluster file could not be read.
    case unreadable(path: String, reason: String)
    /// The file is not valid YAML (or is empty).
    case yamlSyntax(line: Int?, reason: String)
    /// A required key is absent from the mapping that starts at `line`.
    case missingKey(key: String, line: Int)
    /// A key's value has the wrong YAML type (e.g. a list where a string belongs).
    case wrongType(key: String, line: Int, expected: String)
    /// A key the format does not define: a typo must not pass silently.
    case unknownKey(key: String, line: Int, allowed: [String])
    /// A value violates a constraint.
    case invalidValue(key: String, line: Int, value: String, reason: String)
    /// A value that must be unique (a key, a worker name or endpoint) repeats the one at `firstLine`.
    case duplicateValue(key: String, line: Int, value: String, firstLine: Int)
    /// The model's metadata (config.json or GGUF header) could not be read.
    case modelMetadata(path: String, reason: String)
    /// More workers than decoder layers: every worker must hold at least one layer.
    case tooManyWorkers(workers: Int, layers: Int)
    /// The coordinator rejected this worker's Hello (or answered with something else).
    case handshakeRejected(reason: String)
    /// The model does not fit the workers' memory; `shortfallBytes` is how much more is needed.
    /// A worker did not answer within the deadline (join, load, or heartbeats).
    case workerTimeout(worker: String, waitingFor: String, seconds: Double)
    /// A worker reported a failure (its message), e.g. loading its slice or running a batch.
    case workerFailed(worker: String, reason: String)
    /// A worker stopped answering heartbeats; its in-flight batches fail.
    case workerLost(worker: String)
    /// The cluster was shut down while a request was waiting.
    case shutDown
    /// The plan changed (a worker was lost, rejoined or the cluster was re-sharded) while a batch
    /// was being built or was in flight; `ClusterModel` retries it on the new plan.
    case planChanged
    /// A CURVE key file that cannot be used.
    case keyFile(path: String, reason: String)
    /// A cluster.yaml edit changes settings a running cluster cannot take (model, precision,
    /// context, max_batch, coordinator endpoints); they need a restart.
    case restartRequired(keys: [String])
    /// A message that does not fit the protocol at this point.
    case protocolViolation(String)
    case doesNotFit(shortfallBytes: Int, requiredBytes: Int, availableBytes: Int, detail: String)

    public var description: String {
        switch self {
        case let .unreadable(p, r): return "cannot read cluster config \(p): \(r)"
        case let .yamlSyntax(l, r): return "\(l.map { "line \($0): " } ?? "")invalid YAML: \(r)"
        case let .missingKey(k, l): return "line \(l): missing required key '\(k)'"
        case let .wrongType(k, l, e): return "line \(l): '\(k)' must be \(e)"
        case let .unknownKey(k, l, a): return "line \(l): unknown key '\(k)' (allowed here: \(a.joined(separator: ", ")))"
        case let .invalidValue(k, l, v, r): return "line \(l): '\(k)' = '\(v)' \(r)"
        case let .duplicateValue(k, l, v, f): return "line \(l): '\(k)' = '\(v)' repeats the one on line \(f)"
        case let .modelMetadata(p, r): return "cannot read model metadata from \(p): \(r)"
        case let .tooManyWorkers(w, l): return "\(w) workers but the model has only \(l) layers: each worker needs at least one"
        case let .handshakeRejected(r): return "handshake rejected: \(r)"
        case let .workerTimeout(w, what, t): return "worker \(w) did not answer \(what) within \(Int(t)) s"
        case let .workerFailed(w, r): return "worker \(w): \(r)"
        case let .workerLost(w): return "worker \(w) stopped answering heartbeats"
        case .shutDown: return "the cluster is shutting down"
        case .planChanged: return "the cluster changed its plan while the batch was in flight"
        case let .keyFile(p, r): return "key file \(p) \(r)"
        case let .restartRequired(k): return "changing \(k.joined(separator: ", ")) needs a restart of the coordinator and workers; the running cluster keeps its current settings"
        case let .protocolViolation(r): return "protocol violation: \(r)"
        case let .doesNotFit(s, req, avail, d):
            return "the model does not fit: short by \(s) bytes (\(ByteSize.gib(s)) GiB); needs \(req) bytes "
                + "(\(ByteSize.gib(req)) GiB), workers have \(avail) bytes (\(ByteSize.gib(avail)) GiB). \(d)"
        }
    }
}
