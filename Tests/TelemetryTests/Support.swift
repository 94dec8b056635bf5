import Foundation
import Telemetry
import Clocks

/// A clock the test sets: fixed UTC time, boot time, and whether it is "synchronised".
final class FakeTimeSource: TimeSource, @unchecked Sendable {
    // @unchecked: all state is behind `lock`.
    private let lock = NSLock()
    private var current: Timestamp

    init(utcNanoseconds: Int64 = 1_750_000_000_000_000_000, synchronised: Bool = true) {
        current = Timestamp(
            utcNanoseconds: utcNanoseconds, bootNanoseconds: 5_000_000_000,
            bootID: UUID(uuidString: "3F2504E0-4F89-11D3-9A0C-0305E82C3301")!, isClockSynchronised: synchronised)
    }

    func now() -> Timestamp { lock.withLock { current } }

    func advance(seconds: Int64) {
        lock.withLock {
            current.utcNanoseconds += seconds * 1_000_000_000
            current.bootNanoseconds += seconds * 1_000_000_000
        }
    }
}

/// A fresh folder under the system temp dir, removed by `cleanUp()`.
struct TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("spool-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

/// Runs `body` with the spool's service loop running, then stops the loop and closes the spool.
func withRunningSpool<T: Sendable>(
    _ spool: Spool, _ body: @Sendable (Spool) async throws -> T
) async throws -> T {
    let loop = Task { await spool.run() }
    do {
        let result = try await body(spool)
        loop.cancel()
        await loop.value
        try spool.close()
        return result
    } catch {
        loop.cancel()
        await loop.value
        try? spool.close()
        throw error
    }
}

func reading(_ value: Double, channel name: String = "lamp1/power", time: Timestamp) throws -> Reading {
    Reading(channel: try ChannelName(name), value: .number(value), unit: .watt, time: time)
}
