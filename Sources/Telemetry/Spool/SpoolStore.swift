import FoundationEssentials
import Clocks

/// The SQL side of the spool: schema, row encoding, inserts, drops, acknowledgements.
///
/// All methods run on the spool's writer connection (or its reader), never concurrently with each
/// other on the writer side; `WriterCache` is only touched there.
enum SpoolStore {
    /// 2: readings go to the packed telemetry log (`TelemetryLog`); the `reading` table only holds
    /// what a version-1 spool had stored before the upgrade, and drains first (lowest sequences).
    static let schemaVersion = 2

    /// Creates the tables on a new file. Events and alarms are rows (rare, committed at once);
    /// periodic readings are in the telemetry log next to the file, and the `reading` table stays for
    /// spools written before (schema version 1). No secondary indexes: every query walks the rowid
    /// (= sequence) order, and each index would cost flash writes.
    static func createSchema(_ db: SQLiteConnection) throws(SQLiteError) {
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
        if try spoolID(db) == nil {
            try db.execute(
                sql: "INSERT INTO meta(key, value) VALUES ('spoolID', ?)", arguments: [.text(UUID().uuidString)])
        }
        try db.execute(sql: "PRAGMA user_version = \(schemaVersion)")
    }

    /// The spool file's random id (`meta.spoolID`); nil before `createSchema`.
    static func spoolID(_ db: SQLiteConnection) throws(SQLiteError) -> String? {
        try db.fetchStrings(sql: "SELECT value FROM meta WHERE key = 'spoolID'").first
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

    static func databaseValue(_ value: ReadingValue?) -> SQLiteValue {
        switch value {
        case nil: return .null
        case .number(let d): return .real(d)  // SQLite stores NaN as NULL; it reads back as nil
        case .boolean(let b): return .integer(b ? 1 : 0)
        case .string(let s): return .text(s)
        }
    }

    /// The stored `value` column as the type its flags say (the conversions GRDB made before).
    static func readingValue(_ dbValue: SQLiteValue, flags: Int64) -> ReadingValue? {
        switch ((flags >> valueTypeShift) & 0x3, dbValue) {
        case (1, .real(let d)): return .number(d)
        case (1, .integer(let i)): return .number(Double(i))
        case (2, .integer(let i)): return .boolean(i != 0)
        case (2, .real(let d)): return Int64(exactly: d).map { .boolean($0 != 0) }
        case (3, .text(let s)): return .string(s)
        case (3, .blob(let bytes)): return String(validating: bytes, as: UTF8.self).map(ReadingValue.string)
        default: return nil
        }
    }

    // MARK: writer state

    /// Writer-side caches: next sequence number, channel and boot ids.
    struct WriterCache: Sendable {
        var nextSequence: Int64 = 1
        var channels: [String: Int64] = [:]
        var boots: [UUID: Int64] = [:]

        /// The key of `channels`: a channel is its name and unit together.
        static func channelKey(name: String, unit: String) -> String { name + "\u{0}" + unit }

        /// The id of a channel row this writer has already seen, nil for one seen the first time.
        func knownChannelID(_ reading: Reading) -> Int64? {
            channels[Self.channelKey(name: reading.channel.rawValue, unit: reading.unit.rawValue)]
        }
    }

    static func loadNextSequence(_ db: SQLiteConnection) throws(SQLiteError) -> Int64 {
        let maxReading = try db.fetchInt64(sql: "SELECT max(seq) FROM reading") ?? 0
        let maxEvent = try db.fetchInt64(sql: "SELECT max(seq) FROM event") ?? 0
        let floor = try metaInt(db, "sequenceFloor")
        return max(maxReading, maxEvent, floor) + 1
    }

    static func metaInt(_ db: SQLiteConnection, _ key: String) throws(SQLiteError) -> Int64 {
        try db.fetchInt64(sql: "SELECT value FROM meta WHERE key = ?", arguments: [.text(key)]) ?? 0
    }

    static func setMeta(_ db: SQLiteConnection, _ key: String, _ value: Int64) throws(SQLiteError) {
        try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [.text(key), .integer(value)])
    }

    static func channelID(
        _ db: SQLiteConnection, _ cache: inout WriterCache, name: String, unit: String
    ) throws(SQLiteError) -> Int64 {
        let key = WriterCache.channelKey(name: name, unit: unit)
        if let id = cache.channels[key] { return id }
        let id = try insertOrFind(
            db, insert: "INSERT OR IGNORE INTO channel(name, unit) VALUES (?, ?)",
            find: "SELECT id FROM channel WHERE name = ? AND unit = ?", [.text(name), .text(unit)])
        cache.channels[key] = id
        return id
    }

    static func bootRowID(_ db: SQLiteConnection, _ cache: inout WriterCache, _ bootID: UUID) throws(SQLiteError) -> Int64 {
        if let id = cache.boots[bootID] { return id }
        let id = try insertOrFind(
            db, insert: "INSERT OR IGNORE INTO boot(bootID) VALUES (?)", find: "SELECT id FROM boot WHERE bootID = ?",
            [.text(bootID.uuidString)])
        cache.boots[bootID] = id
        return id
    }

    /// Runs `insert` (an INSERT OR IGNORE) and returns the id that `find` selects with the same arguments.
    private static func insertOrFind(
        _ db: SQLiteConnection, insert: String, find: String, _ arguments: [SQLiteValue]
    ) throws(SQLiteError) -> Int64 {
        try db.execute(sql: insert, arguments: arguments)
        guard let id = try db.fetchInt64(sql: find, arguments: arguments) else {
            throw SQLiteError.failed("no row found right after inserting it", sql: find)
        }
        return id
    }

    /// Gives `records` consecutive sequence numbers from `cache.nextSequence`: events are inserted,
    /// readings (with their channel row, inserted when new) are handed to `packReading` for the
    /// telemetry log. Must run inside a write transaction.
    static func insert(
        _ db: SQLiteConnection, _ cache: inout WriterCache, _ records: some Sequence<SpoolRecord>,
        packReading: (TelemetryBlock.Entry) -> Void = { _ in }
    ) throws(SQLiteError) {
        let eventStatement = try db.cachedStatement(sql: """
            INSERT INTO event(seq, class, channel, flags, utcNs, bootNs, boot, value, kind, message)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for record in records {
            let seq = cache.nextSequence
            switch record {
            case .reading(let r):
                let channel = try channelID(db, &cache, name: r.channel.rawValue, unit: r.unit.rawValue)
                packReading(TelemetryBlock.Entry(sequence: seq, channelID: channel, value: r.value, time: r.time,
                                                 quality: r.quality))
            case .event(let e):
                let channel = try e.channel.map { (name) throws(SQLiteError) in
                    try channelID(db, &cache, name: name.rawValue, unit: "")
                }
                let boot = try bootRowID(db, &cache, e.time.bootID)
                let quality: ReadingQuality = e.time.isClockSynchronised ? .good : .clockUnsynchronised
                try eventStatement.execute([
                    .integer(seq), .integer(Int64(record.recordClass.rawValue)), channel.map(SQLiteValue.integer) ?? .null,
                    .integer(flags(quality: quality, value: e.value, severity: e.severity)),
                    .integer(e.time.utcNanoseconds), .integer(e.time.bootNanoseconds), .integer(boot),
                    databaseValue(e.value), .text(e.kind), .text(e.message),
                ])
            }
            cache.nextSequence += 1
        }
    }

    // MARK: reading back

    static func oldestPending(_ db: SQLiteConnection, limit: Int, afterSequence: Int64) throws(SQLiteError) -> [SpooledRecord] {
        try db.prepare(sql: """
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
            """).fetchAll([.integer(afterSequence), .integer(Int64(limit))], decode)
    }

    /// One row of `oldestPending`'s query; columns: 0 seq, 1 class, 2 name, 3 unit, 4 flags, 5 utcNs,
    /// 6 bootNs, 7 bootID, 8 value, 9 kind, 10 message.
    static func decode(_ row: SQLiteStatement) -> SpooledRecord {
        let flags = row.int64(4)
        let bootID = row.string(7).flatMap(UUID.init(uuidString:)) ?? Timestamp.unknownBootID
        let quality = ReadingQuality(rawValue: UInt8(flags & 0x7))
        let time = Timestamp(
            utcNanoseconds: row.int64(5), bootNanoseconds: row.int64(6), bootID: bootID,
            isClockSynchronised: !quality.contains(.clockUnsynchronised))
        let value = readingValue(row.value(8), flags: flags)
        let channel = row.string(2).flatMap(ChannelName.init(rawValue:))
        let record: SpoolRecord
        if row.int64(1) == 0 {
            record = .reading(Reading(
                channel: channel ?? ChannelName(rawValue: "unknown")!,
                value: value ?? .number(.nan),
                unit: SenMLUnit(rawValue: row.string(3) ?? "") ?? .none,
                time: time, quality: quality))
        } else {
            record = .event(Event(
                kind: row.string(9) ?? "", severity: EventSeverity(rawValue: Int((flags >> severityShift) & 0x3)) ?? .alarm,
                channel: channel, value: value, time: time, message: row.string(10) ?? ""))
        }
        return SpooledRecord(sequence: row.int64(0), record: record)
    }

    // MARK: size and drops

    static func usedBytes(_ db: SQLiteConnection) throws(SQLiteError) -> Int64 {
        let pages = try db.fetchInt64(sql: "PRAGMA page_count") ?? 0
        let free = try db.fetchInt64(sql: "PRAGMA freelist_count") ?? 0
        let size = try db.fetchInt64(sql: "PRAGMA page_size") ?? 4096
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
    static func dropOldest(
        _ db: SQLiteConnection, targetBytes: Int64, classes: [SpoolRecordClass] = SpoolRecordClass.allCases
    ) throws(SQLiteError) -> [Drop] {
        var drops: [Drop] = []
        var used = try usedBytes(db)
        for recordClass in classes where used > targetBytes {
            let (table, filter) = recordClass == .telemetry
                ? ("reading", "1")
                : ("event", "class = \(recordClass.rawValue)")
            var drop: Drop?
            while used > targetBytes {
                let rowCount = try db.fetchInt64(sql: "SELECT (SELECT count(*) FROM reading) + (SELECT count(*) FROM event)") ?? 0
                guard rowCount > 0 else { break }
                let averageRowBytes = max(1, used / rowCount)
                let chunk = max(64, (used - targetBytes) / averageRowBytes + 1)
                // (n, first, last, t0, t1) of the oldest `chunk` rows of this class.
                guard let row = try db.prepare(sql: """
                    SELECT count(*) AS n, min(seq) AS first, max(seq) AS last, min(utcNs) AS t0, max(utcNs) AS t1
                    FROM (SELECT seq, utcNs FROM \(table) WHERE \(filter) ORDER BY seq LIMIT ?)
                    """).fetchAll([.integer(chunk)], { row in (0...4).map { row.int64(Int32($0)) } }).first, row[0] > 0
                else { break }
                let (n, first, last, t0, t1) = (row[0], row[1], row[2], row[3], row[4])
                try db.execute(sql: "DELETE FROM \(table) WHERE seq <= ? AND \(filter)", arguments: [.integer(last)])
                if var d = drop {
                    d.count += n; d.lastSequence = last; d.lastUTCNanoseconds = max(d.lastUTCNanoseconds, t1)
                    drop = d
                } else {
                    drop = Drop(recordClass: recordClass, count: n, firstSequence: first, lastSequence: last,
                                firstUTCNanoseconds: t0, lastUTCNanoseconds: t1)
                }
                used = try usedBytes(db)
            }
            if let drop { drops.append(drop) }
        }
        try count(drops, db)
        return drops
    }

    /// Adds `drops` to the `dropped.<class>` counters.
    static func count(_ drops: [Drop], _ db: SQLiteConnection) throws(SQLiteError) {
        for drop in drops {
            let key = "dropped.\(drop.recordClass)"
            try setMeta(db, key, try metaInt(db, key) + drop.count)
        }
    }

    /// Readings in the telemetry log at or below this sequence were dropped by the drop policy.
    static let logDroppedThroughKey = "telemetryLogDroppedThrough"

    /// The telemetry log's floor: its readings at or below it were acknowledged or dropped.
    static func logFloor(_ db: SQLiteConnection) throws(SQLiteError) -> Int64 {
        max(try metaInt(db, "acknowledgedThrough"), try metaInt(db, logDroppedThroughKey))
    }

    /// Deletes every record with a sequence ≤ `sequence`; returns how many.
    static func acknowledge(
        _ db: SQLiteConnection, through sequence: Int64, highestAssigned: Int64
    ) throws(SQLiteError) -> Int {
        try db.execute(sql: "DELETE FROM reading WHERE seq <= ?", arguments: [.integer(sequence)])
        var deleted = db.changes
        try db.execute(sql: "DELETE FROM event WHERE seq <= ?", arguments: [.integer(sequence)])
        deleted += db.changes
        try setMeta(db, "acknowledgedThrough", max(try metaInt(db, "acknowledgedThrough"), sequence))
        try setMeta(db, "sequenceFloor", max(try metaInt(db, "sequenceFloor"), highestAssigned))
        return deleted
    }
}

extension SpoolStore {
    /// Channel rows by id: name and unit, for turning the telemetry log's entries back into readings.
    static func channelTable(_ db: SQLiteConnection) throws(SQLiteError) -> [Int64: ChannelRow] {
        let rows = try db.prepare(sql: "SELECT id, name, unit FROM channel").fetchAll([]) { row in
            (row.int64(0), ChannelRow(name: row.string(1) ?? "", unit: row.string(2) ?? ""))
        }
        return Dictionary(rows, uniquingKeysWith: { first, _ in first })
    }

    /// One row of the `channel` table.
    struct ChannelRow: Sendable {
        var name: String
        var unit: String
    }

    /// A telemetry-log entry as the spooled reading it was enqueued as.
    static func spooledRecord(_ entry: TelemetryBlock.Entry, channel: ChannelRow?) -> SpooledRecord {
        SpooledRecord(sequence: entry.sequence, record: .reading(Reading(
            channel: channel.flatMap { ChannelName(rawValue: $0.name) } ?? ChannelName(rawValue: "unknown")!,
            value: entry.value,
            unit: channel.flatMap { SenMLUnit(rawValue: $0.unit) } ?? .none,
            time: entry.time, quality: entry.quality)))
    }
}
