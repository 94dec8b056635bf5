import Foundation
import GRDB

/// The SQL side of the spool: schema, row encoding, inserts, drops, acknowledgements.
///
/// All methods run inside GRDB's serialized writer (or a reader), never concurrently with each
/// other on the writer side; `WriterCache` is only touched there.
enum SpoolStore {
    static let schemaVersion = 1

    /// Creates the tables on a new file. One table per kind so that dropping the oldest telemetry
    /// frees whole pages (events would otherwise pin half-empty pages), and no secondary indexes:
    /// every query walks the rowid (= sequence) order, and each index would cost flash writes.
    static func createSchema(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS channel(id INTEGER PRIMARY KEY, name TEXT NOT NULL, unit TEXT NOT NULL, UNIQUE(name, unit));
            CREATE TABLE IF NOT EXISTS boot(id INTEGER PRIMARY KEY, bootID TEXT NOT NULL UNIQUE);
            CREATE TABLE IF NOT EXISTS reading(
                seq INTEGER PRIMARY KEY,
                channel INTEGER NOT NULL,
                flags INTEGER NOT NULL,
                utcNs INTEGER NOT NULL,
                bootNs INTEGER NOT NULL,
                boot INTEGER NOT NULL,
                value);
            CREATE TABLE IF NOT EXISTS event(
                seq INTEGER PRIMARY KEY,
                class INTEGER NOT NULL,
                channel INTEGER,
                flags INTEGER NOT NULL,
                utcNs INTEGER NOT NULL,
                bootNs INTEGER NOT NULL,
                boot INTEGER NOT NULL,
                value,
                kind TEXT NOT NULL,
                message TEXT NOT NULL);
            """)
        if try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'spoolID'") == nil {
            try db.execute(
                sql: "INSERT INTO meta(key, value) VALUES ('spoolID', ?)", arguments: [UUID().uuidString])
        }
        try db.execute(sql: "PRAGMA user_version = \(schemaVersion)")
    }

    // MARK: flags

    // bits 0–2: ReadingQuality; bits 4–5: value type; bits 6–7: event severity.
    static let valueTypeShift: Int64 = 4
    static let severityShift: Int64 = 6

    static func flags(quality: ReadingQuality, value: ReadingValue?, severity: EventSeverity = .info) -> Int64 {
        let type: Int64
        switch value {
        case nil: type = 0
        case .number: type = 1
        case .boolean: type = 2
        case .string: type = 3
        }
        return Int64(quality.rawValue) | (type << valueTypeShift) | (Int64(severity.rawValue) << severityShift)
    }

    static func databaseValue(_ value: ReadingValue?) -> DatabaseValue {
        switch value {
        case nil: return .null
        case .number(let d): return d.databaseValue
        case .boolean(let b): return (b ? 1 : 0).databaseValue
        case .string(let s): return s.databaseValue
        }
    }

    static func readingValue(_ dbValue: DatabaseValue, flags: Int64) -> ReadingValue? {
        switch (flags >> valueTypeShift) & 0x3 {
        case 1: return Double.fromDatabaseValue(dbValue).map(ReadingValue.number)
        case 2: return Int64.fromDatabaseValue(dbValue).map { .boolean($0 != 0) }
        case 3: return String.fromDatabaseValue(dbValue).map(ReadingValue.string)
        default: return nil
        }
    }

    // MARK: writer state

    /// Writer-side caches: next sequence number, channel and boot ids.
    struct WriterCache: Sendable {
        var nextSequence: Int64 = 1
        var channels: [String: Int64] = [:]
        var boots: [UUID: Int64] = [:]
    }

    static func loadNextSequence(_ db: Database) throws -> Int64 {
        let maxReading = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM reading") ?? 0
        let maxEvent = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM event") ?? 0
        let floor = try metaInt(db, "sequenceFloor")
        return max(maxReading, maxEvent, floor) + 1
    }

    static func metaInt(_ db: Database, _ key: String) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) ?? 0
    }

    static func setMeta(_ db: Database, _ key: String, _ value: some DatabaseValueConvertible) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, value])
    }

    static func channelID(_ db: Database, _ cache: inout WriterCache, name: String, unit: String) throws -> Int64 {
        let key = name + "\u{0}" + unit
        if let id = cache.channels[key] { return id }
        try db.execute(sql: "INSERT OR IGNORE INTO channel(name, unit) VALUES (?, ?)", arguments: [name, unit])
        let id = try Int64.fetchOne(
            db, sql: "SELECT id FROM channel WHERE name = ? AND unit = ?", arguments: [name, unit])!
        cache.channels[key] = id
        return id
    }

    static func bootRowID(_ db: Database, _ cache: inout WriterCache, _ bootID: UUID) throws -> Int64 {
        if let id = cache.boots[bootID] { return id }
        try db.execute(sql: "INSERT OR IGNORE INTO boot(bootID) VALUES (?)", arguments: [bootID.uuidString])
        let id = try Int64.fetchOne(db, sql: "SELECT id FROM boot WHERE bootID = ?", arguments: [bootID.uuidString])!
        cache.boots[bootID] = id
        return id
    }

    /// Inserts `records` with consecutive sequence numbers from `cache.nextSequence`; returns the first.
    static func insert(_ db: Database, _ cache: inout WriterCache, _ records: some Sequence<SpoolRecord>) throws {
        let readingStatement = try db.cachedStatement(sql: """
            INSERT INTO reading(seq, channel, flags, utcNs, bootNs, boot, value) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        let eventStatement = try db.cachedStatement(sql: """
            INSERT INTO event(seq, class, channel, flags, utcNs, bootNs, boot, value, kind, message)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for record in records {
            let seq = cache.nextSequence
            switch record {
            case .reading(let r):
                let channel = try channelID(db, &cache, name: r.channel.rawValue, unit: r.unit.rawValue)
                let boot = try bootRowID(db, &cache, r.time.bootID)
                readingStatement.setUncheckedArguments([
                    seq, channel, flags(quality: r.quality, value: r.value), r.time.utcNanoseconds,
                    r.time.bootNanoseconds, boot, databaseValue(r.value),
                ])
                try readingStatement.execute()
            case .event(let e):
                let channel = try e.channel.map { try channelID(db, &cache, name: $0.rawValue, unit: "") }
                let boot = try bootRowID(db, &cache, e.time.bootID)
                let quality: ReadingQuality = e.time.isClockSynchronised ? .good : .clockUnsynchronised
                eventStatement.setUncheckedArguments([
                    seq, record.recordClass.rawValue, channel, flags(quality: quality, value: e.value, severity: e.severity),
                    e.time.utcNanoseconds, e.time.bootNanoseconds, boot, databaseValue(e.value), e.kind, e.message,
                ])
                try eventStatement.execute()
            }
            cache.nextSequence += 1
        }
    }

    // MARK: reading back

    static func oldestPending(_ db: Database, limit: Int, afterSequence: Int64) throws -> [SpooledRecord] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT * FROM (
                SELECT r.seq, 0 AS class, c.name, c.unit, r.flags, r.utcNs, r.bootNs, b.bootID, r.value,
                       NULL AS kind, NULL AS message
                FROM reading r JOIN channel c ON c.id = r.channel JOIN boot b ON b.id = r.boot
                WHERE r.seq > ?1 ORDER BY r.seq LIMIT ?2)
            UNION ALL
            SELECT * FROM (
                SELECT e.seq, e.class, c.name, c.unit, e.flags, e.utcNs, e.bootNs, b.bootID, e.value, e.kind, e.message
                FROM event e LEFT JOIN channel c ON c.id = e.channel JOIN boot b ON b.id = e.boot
                WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2)
            ORDER BY seq LIMIT ?2
            """, arguments: [afterSequence, limit])
        return rows.map(decode)
    }

    static func decode(_ row: Row) -> SpooledRecord {
        let flags: Int64 = row["flags"]
        let bootID = UUID(uuidString: row["bootID"] as String) ?? Timestamp.unknownBootID
        let quality = ReadingQuality(rawValue: UInt8(flags & 0x7))
        let time = Timestamp(
            utcNanoseconds: row["utcNs"], bootNanoseconds: row["bootNs"], bootID: bootID,
            isClockSynchronised: !quality.contains(.clockUnsynchronised))
        let value = readingValue(row["value"], flags: flags)
        let channel = (row["name"] as String?).flatMap(ChannelName.init(rawValue:))
        let recordClass: Int64 = row["class"]
        let record: SpoolRecord
        if recordClass == 0 {
            record = .reading(Reading(
                channel: channel ?? ChannelName(rawValue: "unknown")!,
                value: value ?? .number(.nan),
                unit: SenMLUnit(rawValue: row["unit"] as String? ?? "") ?? .none,
                time: time, quality: quality))
        } else {
            record = .event(Event(
                kind: row["kind"], severity: EventSeverity(rawValue: Int((flags >> severityShift) & 0x3)) ?? .alarm,
                channel: channel, value: value, time: time, message: row["message"]))
        }
        return SpooledRecord(sequence: row["seq"], record: record)
    }

    // MARK: size and drops

    static func usedBytes(_ db: Database) throws -> Int64 {
        let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
        let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        let size = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
        return (pages - free) * size
    }

    /// One run of the drop policy for one class: what was removed.
    struct Drop: Sendable {
        var recordClass: SpoolRecordClass
        var count: Int64
        var firstSequence: Int64
        var lastSequence: Int64
        var firstUTCNanoseconds: Int64
        var lastUTCNanoseconds: Int64
    }

    /// Deletes the oldest records, telemetry first, then events, then alarms, until the live data is at
    /// most `targetBytes`. Rows are deleted in chunks sized from the average row size.
    static func dropOldest(_ db: Database, targetBytes: Int64) throws -> [Drop] {
        var drops: [Drop] = []
        var used = try usedBytes(db)
        for recordClass in SpoolRecordClass.allCases where used > targetBytes {
            let (table, filter) = recordClass == .telemetry
                ? ("reading", "1")
                : ("event", "class = \(recordClass.rawValue)")
            var drop: Drop?
            while used > targetBytes {
                let rowCount = try Int64.fetchOne(db, sql: "SELECT (SELECT count(*) FROM reading) + (SELECT count(*) FROM event)") ?? 0
                guard rowCount > 0 else { break }
                let averageRowBytes = max(1, used / rowCount)
                let chunk = max(64, (used - targetBytes) / averageRowBytes + 1)
                guard let row = try Row.fetchOne(db, sql: """
                    SELECT count(*) AS n, min(seq) AS first, max(seq) AS last, min(utcNs) AS t0, max(utcNs) AS t1
                    FROM (SELECT seq, utcNs FROM \(table) WHERE \(filter) ORDER BY seq LIMIT ?)
                    """, arguments: [chunk]), (row["n"] as Int64) > 0
                else { break }
                let last: Int64 = row["last"]
                try db.execute(sql: "DELETE FROM \(table) WHERE seq <= ? AND \(filter)", arguments: [last])
                let n: Int64 = row["n"]
                if var d = drop {
                    d.count += n; d.lastSequence = last; d.lastUTCNanoseconds = max(d.lastUTCNanoseconds, row["t1"])
                    drop = d
                } else {
                    drop = Drop(recordClass: recordClass, count: n, firstSequence: row["first"], lastSequence: last,
                                firstUTCNanoseconds: row["t0"], lastUTCNanoseconds: row["t1"])
                }
                used = try usedBytes(db)
            }
            if let drop { drops.append(drop) }
        }
        for drop in drops {
            let key = "dropped.\(drop.recordClass)"
            try setMeta(db, key, try metaInt(db, key) + drop.count)
        }
        return drops
    }

    /// Deletes every record with a sequence ≤ `sequence`; returns how many.
    static func acknowledge(_ db: Database, through sequence: Int64, highestAssigned: Int64) throws -> Int {
        try db.execute(sql: "DELETE FROM reading WHERE seq <= ?", arguments: [sequence])
        var deleted = db.changesCount
        try db.execute(sql: "DELETE FROM event WHERE seq <= ?", arguments: [sequence])
        deleted += db.changesCount
        try setMeta(db, "acknowledgedThrough", max(try metaInt(db, "acknowledgedThrough"), sequence))
        try setMeta(db, "sequenceFloor", max(try metaInt(db, "sequenceFloor"), highestAssigned))
        return deleted
    }
}
