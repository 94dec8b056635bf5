import Foundation
import GRDB
import Testing
import TestSupport
import Telemetry

/// Kills a process that is appending to a real spool file with SIGKILL at random moments, and checks
/// after each kill that the file is intact and holds everything the process was told was durable.
/// (A power cut additionally loses the page cache; that is what `synchronous = FULL` covers and what
/// this test cannot simulate on a live kernel.)
@Suite("Spool under kill -9")
struct SpoolKillTests {
    /// Cycles to run: `LAMPD_KILL_CYCLES` (default 50).
    static var cycles: Int {
        ProcessInfo.processInfo.environment["LAMPD_KILL_CYCLES"].flatMap(Int.init) ?? 50
    }

    @Test("Every committed reading survives SIGKILL, in order, without gaps or duplicates")
    func killNine() async throws {
        // spool-torture is a heavy child: one of the ChildSlots for the whole run.
        try await ChildSlots.withSlot { try await killNineCycles() }
    }

    private func killNineCycles() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = folder.path("spool.sqlite")
        let child = Products.directory.appendingPathComponent("spool-torture")
        try #require(FileManager.default.isExecutableFile(atPath: child.path),
                     "build the child first: swift build --build-tests (looked in \(Products.directory.path))")

        var highestReported: Int64 = 0
        var previousCount = 0
        let started = ContinuousClock.now
        for cycle in 0..<Self.cycles {
            // Every other cycle the random moment counts from the first durable append, so some
            // kills land after a report however slow this machine is; the others may land anywhere,
            // opening the spool included.
            let reported = try await runAndKill(child: child.path, path: path, after: .milliseconds(Int.random(in: 20...250)),
                                                afterFirstReport: cycle.isMultiple(of: 2))
            highestReported = max(highestReported, reported)

            let queue = try DatabaseQueue(path: path)
            let integrity = try await queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
            try queue.close()
            // The readings as the spool reads them back after the kill: opening it is the recovery (a
            // frame the kill cut short is cut off the telemetry log) and checks every frame (checksum,
            // ascending sequences). The count and the highest sequence cover the whole spool; the
            // readings themselves are read back from a little before the previous cycle's end, so the
            // check stays linear however large the spool grows.
            let from = Int64(max(0, previousCount - 2000))
            let stored = try await Self.storedReadings(path, after: from)
            let count = stored.count
            #expect(integrity == ["ok"], "cycle \(cycle)")
            // No gaps, no duplicates: exactly 1…n. Everything reported durable is there.
            #expect(Int64(count) == stored.highest, "cycle \(cycle): \(count) readings up to sequence \(stored.highest)")
            #expect(stored.sequences == Array(from + 1 ..< from + 1 + Int64(stored.sequences.count)), "cycle \(cycle)")
            #expect(from + Int64(stored.sequences.count) == Int64(count), "cycle \(cycle)")
            #expect(Int64(count) >= highestReported, "cycle \(cycle): reported \(highestReported) durable, found \(count)")
            #expect(count >= previousCount, "cycle \(cycle): records disappeared")
            // Values were written as their expected sequence numbers: order is preserved.
            #expect(zip(stored.sequences, stored.values).allSatisfy { Double($0) == $1 }, "cycle \(cycle): order broken")
            previousCount = count
            if count < highestReported || integrity != ["ok"] { break }
        }
        #expect(highestReported > 0, "the child never reported a durable append")
        print("kill -9: \(Self.cycles) cycles, \(previousCount) readings, \(highestReported) reported durable, "
              + "\(ContinuousClock.now - started)")
    }

    @Test("An event is durable at once, not a telemetry window later: it survives kill -9 right after")
    func eventSurvivesKillRightAfter() async throws {
        try await ChildSlots.withSlot {
            let folder = try TemporaryFolder()
            defer { folder.cleanUp() }
            let path = folder.path("spool.sqlite")
            let child = Products.directory.appendingPathComponent("spool-torture")
            // The child's telemetry window is 60 s; it enqueues 10 readings and a door alarm, and reports
            // whether the spool committed them within 10 s without being flushed.
            let process = try ChildProcess(executable: child.path, arguments: [path, "event"], keepsLog: false)
            let verdict = try await process.transcript.wait(for: "the child's commit verdict") {
                $0 == "committed" || $0 == "not committed"
            }
            process.kill()
            #expect(await process.exitStatus == .signalled(SIGKILL), "\(process.stderr)")
            #expect(verdict == "committed", "the alarm waited for the telemetry window")

            let queue = try DatabaseQueue(path: path)
            let kinds = try await queue.read { db in try String.fetchAll(db, sql: "SELECT kind FROM event ORDER BY seq") }
            try queue.close()
            let readings = try await Self.storedReadings(path, after: 0).sequences.count
            #expect(kinds.contains("door.opened"), "the alarm is lost after kill -9: \(kinds)")
            // The readings enqueued before the alarm went in the same commit (commit order is record order).
            #expect(readings == 10)
        }
    }

    /// What the spool at `path` holds after a kill: how many readings, the highest sequence, and the
    /// readings after sequence `after` (sequence numbers and values, oldest first), read in pages.
    private static func storedReadings(
        _ path: String, after: Int64
    ) async throws -> (count: Int, highest: Int64, sequences: [Int64], values: [Double]) {
        let spool = try await Spool.open(SpoolConfiguration(path: path, maxSizeMegabytes: 512))
        defer { try? spool.close() }
        let stats = try await spool.statistics()
        var sequences: [Int64] = []
        var values: [Double] = []
        var cursor = after
        while true {
            let page = try await spool.oldestPending(limit: 20_000, afterSequence: cursor)
            guard let last = page.last else { break }
            cursor = last.sequence
            for record in page {
                guard case .reading(let r) = record.record, case .number(let v) = r.value else { continue }
                sequences.append(record.sequence)
                values.append(v)
            }
        }
        return (stats.pendingReadings, stats.highestSequence, sequences, values)
    }

    /// Starts the child, lets it run for `after` (from its start or from its first report), kills
    /// it with SIGKILL; returns the highest sequence it reported.
    private func runAndKill(child: String, path: String, after: Duration, afterFirstReport: Bool) async throws -> Int64 {
        let process = try ChildProcess(executable: child, arguments: [path], keepsLog: false)
        if afterFirstReport {
            try await process.transcript.wait(for: "spool-torture's first durable append") { Int64($0) != nil }
        }
        // Not a wait for an event: the kill must land at a random moment.
        try await Task.sleep(for: after)
        process.kill()
        let exit = await process.exitStatus
        #expect(exit == .signalled(SIGKILL), "spool-torture \(exit) before it was killed: \(process.stderr)")
        let text = process.stdout
        // Only complete lines count: a line cut by the kill was not fully reported.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let complete = text.hasSuffix("\n") ? lines : lines.dropLast()
        return complete.compactMap { Int64($0) }.max() ?? 0
    }
}
