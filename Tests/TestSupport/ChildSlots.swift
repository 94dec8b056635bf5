import Foundation

/// How many heavy children (lampd, its peers, a Modbus server) run at once across **all** suites.
///
/// Swift Testing runs suites in parallel (`.serialized` orders tests only within a suite), so
/// without this bound every suite that starts a daemon would start it at the same moment — on a
/// 2-core machine, eight debug lampd daemons and their peers at once. A scope that starts such a
/// child (`withSimulatedDaemon`, `ModbusPeer.with`, the uplink rig) holds one slot while it runs;
/// the others wait for a slot (an event), not for a clock.
///
/// Two slots by default; `LAMPD_TEST_CHILD_SLOTS` changes it. Nested scopes in one task share
/// their outer scope's slot, so a test never waits for itself.
public actor ChildSlots {
    public static let shared = ChildSlots(
        count: max(1, ProcessInfo.processInfo.environment["LAMPD_TEST_CHILD_SLOTS"].flatMap(Int.init) ?? 2))

    @TaskLocal private static var holding = false

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(count: Int) { free = count }

    private func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()  // the slot passes straight to the next in line
        }
    }

    /// Runs `body` holding one slot (or the slot this task already holds).
    public static func withSlot<T>(_ body: () async throws -> T) async throws -> T {
        if holding { return try await body() }
        await shared.acquire()
        do {
            let result = try await $holding.withValue(true) { try await body() }
            await shared.release()
            return result
        } catch {
            await shared.release()
            throw error
        }
    }
}
