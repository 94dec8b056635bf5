import Foundation
import Synchronization
@testable import Telemetry
import Testing

/// Issue 11, defects 5 and 11: what was in the spool is remembered outside it (the marker), so a
/// spool that vanished, was emptied or lost the end of its write-ahead log is reported; files that
/// are not spool files are refused before SQLite opens them (a FIFO used to hang `open()`).
@Suite("Spool losses and files that are not spools")
struct SpoolLossTests {
    /// Opens a spool in `folder`, stores `count` readings durably, and closes it.
    func fill(_ config: SpoolConfiguration, count: Int, time: FakeTimeSource) async throws -> (id: String, highest: Int64) {
        let spool = try await Spool.open(config, timeSource: time)
        let highest = try await withRunningSpool(spool) { spool in
            var last: Int64 = 0
            for i in 0..<count { last = try await spool.append(try reading(Double(i), time: time.now())) }
            return last
        }
        return (spool.spoolID, highest)
    }

    func lossEvent(_ spool: Spool) throws -> Event {
        try #require(spool.startupEvents.first { $0.kind == "spool.lost" })
    }

    @Test("A deleted spool file: the new spool starts with a spool.lost alarm naming the old spool")
    func deletedSpool() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"), commitWindow: .milliseconds(5))
        let old = try await fill(config, count: 20, time: time)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: config.path + suffix) }

        let spool = try await Spool.open(config, timeSource: time)
        let event = try lossEvent(spool)
        #expect(event.severity == .alarm)
        #expect(event.message.contains(old.id) && event.message.contains("up to sequence \(old.highest)"))
        #expect(spool.spoolID != old.id)
        // Stored in the new spool too, so it goes upstream.
        let pending = try await withRunningSpool(spool) { try await $0.oldestPending(limit: 10) }
        #expect(pending.contains { if case .event(let e) = $0.record { e.kind == "spool.lost" } else { false } })
    }

    @Test("A spool truncated to 0 bytes is reported as lost")
    func truncatedSpool() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"), commitWindow: .milliseconds(5))
        let old = try await fill(config, count: 20, time: time)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: config.path + suffix) }
        #expect(truncate(config.path, 0) == 0)

        let spool = try await Spool.open(config, timeSource: time)
        #expect(try lossEvent(spool).message.contains(old.id))
        try spool.close()
    }

    @Test("Records only in a write-ahead log and a telemetry segment that became garbage: reported, and their numbers are not reused")
    func garbageWAL() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        // Marker after every commit, so the lost records are known exactly.
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"), commitWindow: .milliseconds(5), markerInterval: .zero)
        _ = try await fill(config, count: 10, time: time)  // checkpointed into the main file at close

        // A second run stores 30 more, then the power is cut: copy the files as they are on disk.
        let spool = try await Spool.open(config, timeSource: time)
        let loop = Task { await spool.run() }
        var highest: Int64 = 0
        for i in 0..<30 { highest = try await spool.append(try reading(Double(i), time: time.now())) }
        let crashed = try TemporaryFolder()
        defer { crashed.cleanUp() }
        for suffix in ["", "-wal", ".marker", "-telemetry"] {
            try FileManager.default.copyItem(atPath: config.path + suffix, toPath: crashed.path("spool.sqlite" + suffix))
        }
        loop.cancel()
        await loop.value
        try spool.close()
        // The WAL's frames are garbage now (its header too): SQLite ignores the whole log.
        let wal = crashed.path("spool.sqlite-wal")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int)
        try Data(repeating: 0x5A, count: size).write(to: URL(fileURLWithPath: wal))
        // So is the telemetry segment the second run started (its readings 11…40).
        let segment = crashed.path("spool.sqlite-telemetry/" + TelemetryLog.fileName(11))
        let segmentSize = try #require(try FileManager.default.attributesOfItem(atPath: segment)[.size] as? Int)
        try Data(repeating: 0x5A, count: segmentSize).write(to: URL(fileURLWithPath: segment))

        let reopened = try await Spool.open(SpoolConfiguration(path: crashed.path("spool.sqlite"), commitWindow: .milliseconds(5)),
                                            timeSource: time)
        let event = try lossEvent(reopened)
        #expect(event.severity == .alarm)
        #expect(event.message.contains("lost records 11 to \(highest)"))
        let next = try await withRunningSpool(reopened) { try await $0.append(try reading(1, time: time.now())) }
        #expect(next > highest)
    }

    @Test("A clean restart raises nothing")
    func cleanRestart() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"), commitWindow: .milliseconds(5))
        let old = try await fill(config, count: 5, time: time)
        let spool = try await Spool.open(config, timeSource: time)
        #expect(spool.startupEvents.isEmpty)
        #expect(spool.spoolID == old.id)
        try spool.close()
    }

    @Test("A marker that is garbage: a warning, and the spool opens", arguments: [Data("{".utf8), Data(repeating: 0xFF, count: 10), Data(repeating: 0x20, count: 100_000)])
    func garbageMarker(content: Data) async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"))
        try content.write(to: URL(fileURLWithPath: config.path + ".marker"))
        let spool = try await Spool.open(config, timeSource: FakeTimeSource())
        #expect(spool.startupEvents.map(\.kind) == ["spool.marker-unreadable"])
        try spool.close()
    }

    enum Intruder: String, CaseIterable, Sendable { case fifo, directory, symlink, walFIFO }

    @Test("Something that is not a spool file where the spool should be: refused at once with what it is", arguments: Intruder.allCases)
    func notASpoolFile(_ intruder: Intruder) async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"))
        switch intruder {
        case .fifo: #expect(mkfifo(config.path, 0o600) == 0)
        case .walFIFO: #expect(mkfifo(config.path + "-wal", 0o600) == 0)
        case .directory: try FileManager.default.createDirectory(atPath: config.path, withIntermediateDirectories: false)
        case .symlink: try FileManager.default.createSymbolicLink(atPath: config.path, withDestinationPath: "/dev/zero")
        }
        let error = await #expect(throws: TelemetryError.self) { try await Spool.open(config) }
        #expect(error?.reason == .spoolOpenFailed)
        let words = ["fifo": "named pipe", "walFIFO": "named pipe", "directory": "a folder", "symlink": "symbolic link"][intruder.rawValue]!
        #expect(error?.message.contains(words) == true)
    }

    @Test("A storage directory that is not a folder (/dev/null) is refused with that reason")
    func storageDirectoryIsAFile() async throws {
        let error = await #expect(throws: TelemetryError.self) { try await Spool.open(SpoolConfiguration(path: "/dev/null/spool.sqlite")) }
        #expect(error?.message.contains("/dev/null is a character device, not a folder") == true)
    }

    @Test("Drops of a full spool reach the observer, outside the spool")
    func observerSeesDrops() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"), maxSizeMegabytes: 0.25, commitWindow: .milliseconds(5))
        let spool = try await Spool.open(config, timeSource: time)
        let seen = Mutex<[Event]>([])
        spool.observeOwnEvents { event in seen.withLock { $0.append(event) } }
        try await withRunningSpool(spool) { spool in
            // Packed readings take about 8 bytes: 100 000 overflow the 256 KiB bound.
            for i in 0..<100_000 { try spool.enqueue(try reading(Double(i), time: time.now())) }
            await spool.flush()
        }
        #expect(seen.withLock { $0 }.contains { $0.kind == "spool.full" })
    }
}
