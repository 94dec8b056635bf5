import Foundation
import GRDB
import Testing
@testable import Telemetry
import Clocks

@Suite("Spool")
struct SpoolTests {
    func configuration(_ folder: TemporaryFolder, maxMB: Double = 64) -> SpoolConfiguration {
        SpoolConfiguration(path: folder.path("spool.sqlite"), maxSizeMegabytes: maxMB, commitWindow: .milliseconds(5))
    }

    @Test("append returns consecutive sequences; records come back in order after reopening")
    func appendAndReopen() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource(synchronised: false)
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        let sequences = try await withRunningSpool(spool) { spool in
            var sequences: [Int64] = []
            for i in 0..<5 { sequences.append(try await spool.append(try reading(Double(i), time: time.now()))) }
            try spool.enqueue(Event(kind: "door.opened", severity: .warning, channel: try ChannelName("cabinet.door"),
                                    value: .boolean(true), time: time.now(), message: "cabinet door opened"))
            try spool.enqueue(Reading(channel: try ChannelName("fw"), value: .string("1.2.3"), time: time.now()))
            sequences.append(await spool.flush())
            return sequences
        }
        #expect(sequences == [1, 2, 3, 4, 5, 7])

        let reopened = try await Spool.open(configuration(folder), timeSource: time)
        let pending = try await withRunningSpool(reopened) { try await $0.oldestPending(limit: 100) }
        #expect(pending.map(\.sequence) == [1, 2, 3, 4, 5, 6, 7])
        guard case .reading(let first) = pending[0].record, case .event(let event) = pending[5].record,
              case .reading(let text) = pending[6].record
        else { Issue.record("wrong record kinds"); return }
        #expect(first == (try reading(0, time: time.now())))
        #expect(first.quality.contains(.clockUnsynchronised))
        #expect(!first.time.isClockSynchronised)
        #expect(event.kind == "door.opened" && event.severity == .warning && event.value == .boolean(true))
        #expect(event.channel?.rawValue == "cabinet.door")
        #expect(text.value == .string("1.2.3"))
    }

    @Test("Records buffered when the loop is cancelled (SIGTERM) are committed, not lost")
    func cancellationCommitsTheBuffer() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource(synchronised: true)
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        let loop = Task { await spool.run() }
        for i in 0..<3 { try spool.enqueue(try reading(Double(i), time: time.now())) }
        loop.cancel()  // as the service group does on SIGTERM, within the commit window
        await loop.value
        #expect(try await spool.statistics().recordsLostToWriteErrors == 0)
        try spool.close()

        let reopened = try await Spool.open(configuration(folder), timeSource: time)
        let pending = try await withRunningSpool(reopened) { try await $0.oldestPending(limit: 100) }
        #expect(pending.map(\.sequence) == [1, 2, 3])
    }

    @Test("The writer connection runs WAL with synchronous = FULL")
    func durabilitySettings() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let spool = try await Spool.open(configuration(folder))
        #expect(try await spool.writerSynchronousSetting() == 2)  // FULL: the WAL is fsynced at every commit
        try spool.close()
        let queue = try DatabaseQueue(path: folder.path("spool.sqlite"))
        #expect(try await queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
        #expect(try await queue.read { try Int.fetchOne($0, sql: "PRAGMA page_size") } == 4096)
    }

    @Test("acknowledge deletes only confirmed records; sequences are never reused")
    func acknowledge() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        try await withRunningSpool(spool) { spool in
            for i in 0..<10 { try spool.enqueue(try reading(Double(i), time: time.now())) }
            await spool.flush()
            #expect(try await spool.acknowledge(throughSequence: 4) == 4)
            #expect(try await spool.oldestPending(limit: 3).map(\.sequence) == [5, 6, 7])
            #expect(try await spool.oldestPending(limit: 2, afterSequence: 6).map(\.sequence) == [7, 8])
            #expect(try await spool.acknowledge(throughSequence: 7) == 3)
            #expect(try await spool.oldestPending(limit: 3).map(\.sequence) == [8, 9, 10])
            #expect(try await spool.acknowledge(throughSequence: 10) == 3)
            let stats = try await spool.statistics()
            #expect(stats.pendingReadings == 0 && stats.oldestPendingAge == nil)
        }
        let reopened = try await Spool.open(configuration(folder), timeSource: time)
        let next = try await withRunningSpool(reopened) { try await $0.append(try reading(1, time: time.now())) }
        #expect(next == 11)
    }

    @Test("Counters: pending, oldest age from the monotonic clock, bytes")
    func statistics() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        let stats = try await withRunningSpool(spool) { spool in
            try await spool.append(try reading(1, time: time.now()))
            try await spool.append(Event(kind: "lamp.failure", severity: .alarm, time: time.now(), message: "lamp 1 draws no current"))
            time.advance(seconds: 90)
            return try await spool.statistics()
        }
        #expect(stats.pendingReadings == 1 && stats.pendingAlarms == 1 && stats.pendingEvents == 0)
        #expect(stats.oldestPendingAge == .seconds(90))
        #expect(stats.oldestPendingSequence == 1 && stats.highestSequence == 2)
        #expect(stats.usedBytes > 0 && stats.fileBytes >= stats.usedBytes)
        #expect(stats.bytesWrittenSinceStart != nil)
    }
}

@Suite("Spool when full")
struct SpoolBoundTests {
    @Test("Telemetry goes first, events survive, drops are counted and reported, acknowledge frees space")
    func dropsTelemetryFirst() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"), maxSizeMegabytes: 0.25,
                                        commitWindow: .milliseconds(5))
        let spool = try await Spool.open(config, timeSource: time)
        // Packed readings take about 8 bytes each: 100 000 of them overflow the 256 KiB bound.
        let readingCount = 100_000
        let (stats, pending, afterAck) = try await withRunningSpool(spool) { spool in
            for i in 0..<readingCount {
                try spool.enqueue(try reading(Double(i), time: time.now()))
                if i % 1000 == 0 {
                    try spool.enqueue(Event(kind: "door.opened", severity: .info, time: time.now(), message: "door \(i)"))
                    try spool.enqueue(Event(kind: "lamp.failure", severity: .alarm, time: time.now(), message: "alarm \(i)"))
                }
                if i % 500 == 0 { await spool.flush() }
            }
            await spool.flush()
            let stats = try await spool.statistics()
            let pending = try await spool.oldestPending(limit: 100_000)
            try await spool.acknowledge(throughSequence: stats.highestSequence)
            for i in 0..<2000 { try spool.enqueue(try reading(Double(i), time: time.now())) }
            await spool.flush()
            return (stats, pending, try await spool.statistics())
        }
        #expect(stats.usedBytes <= config.maxSizeBytes)
        let droppedReadings = try #require(stats.droppedRecords[.telemetry])
        #expect(droppedReadings > 0)
        #expect(stats.droppedRecords[.event] == 0 && stats.droppedRecords[.alarm] == 0)

        var events: [Event] = []
        var readingValues: [Double] = []
        for record in pending {
            switch record.record {
            case .event(let e): events.append(e)
            case .reading(let r): if case .number(let v) = r.value { readingValues.append(v) }
            }
        }
        #expect(events.filter { $0.kind == "door.opened" }.count == readingCount / 1000)
        #expect(events.filter { $0.kind == "lamp.failure" }.count == readingCount / 1000)
        let fullEvents = events.filter { $0.kind == "spool.full" }
        #expect(!fullEvents.isEmpty)
        #expect(fullEvents.allSatisfy { $0.message.hasPrefix("spool full: dropped ") && $0.message.contains("readings from sequence") })
        let reported = fullEvents.reduce(0.0) { sum, e in if case .number(let n) = e.value { sum + n } else { sum } }
        #expect(Int64(reported) == droppedReadings)
        // The oldest readings went, the newest stayed, in order, and nothing was lost that was not counted.
        #expect(readingValues == readingValues.sorted())
        #expect(readingValues.last == Double(readingCount - 1))
        #expect(Int64(readingValues.count) + droppedReadings == Int64(readingCount))
        // After acknowledging, new readings fit without any drop.
        #expect(afterAck.droppedRecords[.telemetry] == droppedReadings)
        #expect(afterAck.pendingReadings == 2000)
    }

    @Test("With no telemetry left, info events go before alarms")
    func alarmsLast() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"), maxSizeMegabytes: 0.25,
                                        commitWindow: .milliseconds(5))
        let spool = try await Spool.open(config, timeSource: time)
        let stats = try await withRunningSpool(spool) { spool in
            for i in 0..<300 {
                try spool.enqueue(Event(kind: "lamp.failure", severity: .alarm, time: time.now(), message: "alarm \(i)"))
            }
            for i in 0..<6000 {
                try spool.enqueue(Event(kind: "door.opened", severity: .info, time: time.now(),
                                        message: "door opened, round \(i) of the stress test"))
                if i % 500 == 0 { await spool.flush() }
            }
            await spool.flush()
            return try await spool.statistics()
        }
        #expect((stats.droppedRecords[.event] ?? 0) > 0)
        #expect(stats.droppedRecords[.alarm] == 0)
        #expect(stats.pendingAlarms >= 300)  // the 300 alarms plus "spool.full" alarms about dropped events
        #expect(stats.usedBytes <= config.maxSizeBytes)
    }
}

@Suite("Spool start-up with a corrupt file")
struct SpoolCorruptionTests {
    @Test("A file that is not SQLite is moved aside, a new spool starts and reports it", arguments: [false, true])
    func corruptFileMovedAside(damageRealSpool: Bool) async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"), commitWindow: .milliseconds(5))
        if damageRealSpool {
            let spool = try await Spool.open(config, timeSource: time)
            try await withRunningSpool(spool) { spool in
                for i in 0..<5000 { try spool.enqueue(try reading(Double(i), time: time.now())) }
                await spool.flush()
            }
            // Checkpoint everything into the main file, then overwrite pages 2… with garbage.
            let queue = try DatabaseQueue(path: config.path)
            try await queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try queue.close()
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: config.path))
            try handle.seek(toOffset: 4096)
            handle.write(Data(repeating: 0xA5, count: 4096 * 6))
            try handle.close()
        } else {
            try Data(repeating: 0x42, count: 10_000).write(to: URL(fileURLWithPath: config.path))
        }
        let originalBytes = try Data(contentsOf: URL(fileURLWithPath: config.path))

        let spool = try await Spool.open(config, timeSource: time)
        #expect(spool.startupEvents.map(\.kind) == ["spool.corrupt"])
        let pending = try await withRunningSpool(spool) { try await $0.oldestPending(limit: 10) }
        guard case .event(let event) = try #require(pending.first).record else { Issue.record("no event"); return }
        #expect(event.kind == "spool.corrupt" && event.severity == .alarm)
        #expect(event.message.contains("moved aside to "))

        let files = try FileManager.default.contentsOfDirectory(atPath: folder.url.path)
        let aside = try #require(files.first { $0.hasPrefix("spool.sqlite.corrupt-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") && !$0.hasSuffix("-telemetry") })
        #expect(aside == "spool.sqlite.corrupt-20250615T150640Z")
        // The readings of the damaged spool (its telemetry log) went aside with it, for recovery.
        #expect(files.contains("spool.sqlite.corrupt-20250615T150640Z-telemetry") == damageRealSpool)
        #expect(try Data(contentsOf: folder.url.appendingPathComponent(aside)) == originalBytes)
    }
}

@Suite("Spool errors from SQLite")
struct SpoolSQLiteErrorTests {
    @Test("A spool in a missing folder: spool.open-failed, with SQLite's code underneath; nothing created")
    func openInMissingFolder() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = SpoolConfiguration(path: folder.path("missing/spool.sqlite"))
        let error = await #expect(throws: TelemetryError.self) { try await Spool.open(config) }
        #expect(error?.reason == .spoolOpenFailed)
        #expect(error?.message.contains("check that the folder exists") == true)
        #expect(error?.sqlite?.resultCodeName == "SQLITE_CANTOPEN")
        #expect(error?.description.contains("SQLite error 14 (SQLITE_CANTOPEN)") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).isEmpty)
    }

    @Test("Reads and writes after close fail with spool errors, not a crash")
    func useAfterClose() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let spool = try await Spool.open(SpoolConfiguration(path: folder.path("spool.sqlite")))
        try spool.close()
        let read = await #expect(throws: TelemetryError.self) { try await spool.oldestPending(limit: 1) }
        #expect(read?.reason == .spoolReadFailed)
        #expect(read?.sqlite?.resultCodeName == "SQLITE_MISUSE")
        let write = await #expect(throws: TelemetryError.self) { try await spool.acknowledge(throughSequence: 1) }
        #expect(write?.reason == .spoolWriteFailed)
    }

    @Test("A spool written by version 1 (readings as SQLite rows) opens after the upgrade, drains its rows first, then the packed readings")
    func versionOneSpoolMigrates() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // Written by lampd before the telemetry log (spool-torture's event mode at commit e0b7dab):
        // readings 1…10 of torture/counter (value = sequence) and the alarm door.opened as 11.
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/v1-spool.sqlite")
        let config = SpoolConfiguration(path: folder.path("spool.sqlite"), commitWindow: .milliseconds(5))
        try FileManager.default.copyItem(atPath: fixture.path, toPath: config.path)
        let time = FakeTimeSource()

        let spool = try await Spool.open(config, timeSource: time)
        #expect(spool.spoolID == "CBE548B3-36D0-4CF1-BA13-B2C8F0A48D67")
        let (pending, afterFirstAck, stats) = try await withRunningSpool(spool) { spool in
            for i in 12...14 { try await spool.append(try reading(Double(i), channel: "torture/counter", time: time.now())) }
            let pending = try await spool.oldestPending(limit: 100)
            try await spool.acknowledge(throughSequence: 5)
            let afterFirstAck = try await spool.oldestPending(limit: 3)
            try await spool.acknowledge(throughSequence: 12)
            return (pending, afterFirstAck, try await spool.statistics())
        }
        #expect(pending.map(\.sequence) == Array(1...14))
        let values = pending.compactMap { record -> Double? in
            if case .reading(let r) = record.record, case .number(let v) = r.value { v } else { nil }
        }
        #expect(values == (1...10).map(Double.init) + [12, 13, 14])
        guard case .event(let door) = pending[10].record, case .reading(let old) = pending[0].record,
              case .reading(let new) = pending[11].record
        else { Issue.record("wrong record kinds"); return }
        #expect(door.kind == "door.opened" && door.severity == .alarm)
        #expect(old.channel.rawValue == "torture/counter" && old.unit == .count)
        #expect(new.channel.rawValue == "torture/counter" && new.unit == .watt)
        #expect(afterFirstAck.map(\.sequence) == [6, 7, 8])
        #expect(stats.pendingReadings == 2 && stats.pendingAlarms == 0 && stats.oldestPendingSequence == 13)

        // The old rows are gone from the file, the new readings are not in it.
        let queue = try DatabaseQueue(path: config.path)
        #expect(try await queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM reading") } == 0)
        #expect(try await queue.read { try Int.fetchOne($0, sql: "PRAGMA user_version") } == 2)
        try queue.close()

        let reopened = try await Spool.open(config, timeSource: time)
        let next = try await withRunningSpool(reopened) { spool in
            (try await spool.oldestPending(limit: 10).map(\.sequence), try await spool.append(try reading(15, time: time.now())))
        }
        #expect(next.0 == [13, 14] && next.1 == 15)
    }
}
