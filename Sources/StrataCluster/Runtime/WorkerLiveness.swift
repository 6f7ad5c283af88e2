import Foundation
import Logging
import StrataTransport
import StrataWire

/// A worker's receiving side, on a thread of its own, so liveness never waits for compute: it
/// owns the inbox, answers every Heartbeat at once (over its own link to the coordinator, with
/// the open-sequence count the compute loop last published) and queues every other message, in
/// arrival order, for the worker's loop. A worker inside a long step is therefore never mistaken
/// for a dead one; a stopped (SIGSTOP), crashed or cut-off one still goes silent and is lost.
///
/// With `parentPID` it also watches the process that started it (`strata up`) and ends this
/// process within `pollInterval` of that parent's death — mid-step included.
final class WorkerLiveness: @unchecked Sendable {
    /// What the compute loop receives.
    enum Item {
        case message(WireMessage)
        /// A message that failed validation (dropped; the loop reports it).
        case undecodable(String)
    }

    let inbox: Inbox
    private let network: Network
    private let logger: Logger
    private let parentPID: Int32?
    private let pollInterval: Duration = .milliseconds(200)
    private let condition = NSCondition()
    private var queue: [Item] = []   // FIFO, a few messages deep
    private var closed = false
    private var name: String
    private let fixedName: Bool
    private var openSequences = 0
    private var beats: Outbox?
    private let stopped = Atomic()
    private let done = DispatchSemaphore(value: 0)

    init(inbox: Inbox, network: Network, name: String, fixedName: Bool, parentPID: Int32?, logger: Logger) {
        self.inbox = inbox; self.network = network; self.name = name; self.fixedName = fixedName
        self.parentPID = parentPID; self.logger = logger
    }

    func start() {
        let t = Thread { [self] in loop(); done.signal() }
        t.name = "strata.worker.control"
        t.start()
    }

    /// Stops the thread and waits for it; the inbox is then the caller's to close.
    func stop() {
        stopped.value = true
        done.wait()
        beats?.close()
    }

    /// The compute loop's view of its sequences, sent with every heartbeat answer.
    func publish(openSequences n: Int) {
        condition.lock(); openSequences = n; condition.unlock()
    }

    /// The next item, or nil after `timeout`; nil at once once the inbox has closed.
    func next(timeout: Duration) -> Item? {
        let deadline = Date().addingTimeInterval(seconds(timeout))
        condition.lock(); defer { condition.unlock() }
        while queue.isEmpty && !closed {
            guard condition.wait(until: deadline) else { break }
        }
        return queue.isEmpty ? nil : queue.removeFirst()
    }

    /// Whether the inbox closed under the thread (the loop should end).
    var isClosed: Bool { condition.lock(); defer { condition.unlock() }; return closed }

    private func enqueue(_ item: Item) {
        condition.lock(); queue.append(item); condition.broadcast(); condition.unlock()
    }

    private func loop() {
        while !stopped.value {
            if let parentPID, getppid() != parentPID {
                logger.notice("parent process exited; stopping", metadata: ["parent": "\(parentPID)"])
                _exit(0)
            }
            let message: WireMessage?
            do {
                message = try inbox.receive(timeout: pollInterval)
            } catch let TransportError.wire(e) {
                enqueue(.undecodable("\(e)"))
                continue
            } catch {
                condition.lock(); closed = true; condition.broadcast(); condition.unlock()
                return
            }
            guard let message else { continue }
            switch message.body {
            case let .heartbeat(h): answer(h)
            case let .join(j):
                connectBeats(to: j.replyEndpoint, name: j.workerName)
                enqueue(.message(message))
            default: enqueue(.message(message))
            }
        }
    }

    /// A Join names the coordinator's endpoint (and, unless fixed, this worker's name).
    private func connectBeats(to endpoint: String, name joined: String) {
        condition.lock()
        if !fixedName, !joined.isEmpty { name = joined }
        condition.unlock()
        guard beats?.endpoint != endpoint else { return }
        beats?.close()
        beats = try? network.connect(endpoint)
    }

    private func answer(_ h: Strata_V1_Heartbeat) {
        guard let beats else { return }
        var r = Strata_V1_Heartbeat()
        r.sequence = h.sequence
        r.sentUnixNanos = h.sentUnixNanos
        condition.lock()
        r.workerName = name
        r.openSequences = UInt32(openSequences)
        condition.unlock()
        do { try beats.send(WireMessage(.heartbeat(r)), deadline: .now + .milliseconds(500)) } catch {
            logger.debug("could not answer a heartbeat", metadata: ["error": "\(error)"])
        }
    }
}
