import Foundation
import StrataTransport
import Testing

/// `FreePort` never hands out a port twice in a process, even when the kernel offers a just-closed
/// port again (CI once gave two workers of one test cluster the same port).
@Suite struct FreePortTests {
    @Test func portsAreDistinctAcrossCallsAndThreads() async throws {
        let serial = try (0..<64).map { _ in try FreePort.next() }
        let parallel = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 { group.addTask { try (0..<32).map { _ in try FreePort.next() } } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let all = serial + parallel
        #expect(Set(all).count == all.count, "a port was handed out twice")
        #expect(all.allSatisfy { (1024...65535).contains($0) })
    }
}
