import Foundation
import GRDB
import Uplink

/// The embedded batch store (SQLite): every accepted batch, durably, before it is acknowledged.
/// The default for a pilot — one file, no server; a city with several replicas uses
/// `PostgresBatchStore` (docs/lamp-ingest.md).
///
/// One SQLite file in WAL mode with `synchronous = FULL` (a commit is on disk when `accept`
/// returns). Each batch is one row holding the raw, uncompressed COSE_Sign1 bytes as a BLOB —
/// the signed original, re-verifiable at any time — with its header fields beside it; readings
/// are decoded from the blobs on export, never stored one per row. Per device, `chain` holds the
/// key, sequence and hash of the last accepted batch (docs/uplink.md §4), and `device_key` the
/// public keys that verified stored batches, so the store can be exported without the keys file.
public final class IngestStore: BatchStore {
    /// The database file.
    public let path: String
    public var location: String { path }
    private let pool: DatabasePool

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws(IngestError) {
        self.path = path
        do {
            pool = try DurableSQLitePool.open(path: path, label: "ingest", schema: Self.createSchema)
        } catch {
            throw IngestError(
                .storeFailed, "cannot open the ingest database \(path): \(error) — check the path and its permissions")
        }
    }

    static func createSchema(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS batch (
                    id INTEGER PRIMARY KEY,
                    device TEXT NOT NULL,
                    kid TEXT NOT NULL,              -- 16 hex digits
                    sequence INTEGER NOT NULL,
                    hash BLOB NOT NULL,             -- SHA-256 of cose
                    previous_hash BLOB NOT NULL,
                    spool_first INTEGER NOT NULL,
                    spool_last INTEGER NOT NULL,
                    record_count INTEGER NOT NULL,
                    received_at_ms INTEGER NOT NULL, -- Unix time, milliseconds
                    gap_expected INTEGER,           -- set when batches were missing before this one
                    gap_note TEXT,
                    cose BLOB NOT NULL,             -- the batch as signed (uncompressed COSE_Sign1)
                    UNIQUE (device, kid, sequence)
                );
                CREATE TABLE IF NOT EXISTS chain (
                    device TEXT PRIMARY KEY,
                    kid TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    hash BLOB NOT NULL
                );
                CREATE TABLE IF NOT EXISTS device_key (
                    device TEXT NOT NULL,
                    kid TEXT NOT NULL,
                    public_key BLOB NOT NULL,
                    PRIMARY KEY (device, kid)
                );
                -- Per boot of a board, one synchronised record's wall-clock and boot time: places the
                -- records taken before the board's clock was synchronised (docs/uplink.md §3).
                CREATE TABLE IF NOT EXISTS boot_anchor (
                    device TEXT NOT NULL,
                    boot_id TEXT NOT NULL,
                    utc_ns INTEGER NOT NULL,
                    boot_ns INTEGER NOT NULL,
                    PRIMARY KEY (device, boot_id)
                );
                -- A period's batches (ExportFilter.receivedSince), of a city and of one pole.
                CREATE INDEX IF NOT EXISTS batch_received ON batch (received_at_ms);
                CREATE INDEX IF NOT EXISTS batch_device_received ON batch (device, received_at_ms);
                """)
    }

    /// Applies the acceptance rules to a verified batch and, if it is to be stored, stores it and
    /// moves the device's chain — in one transaction, committed before this returns.
    public func accept(_ batch: VerifiedBatch, bytes: [UInt8], publicKey: DevicePublicKey, receivedAt: Date)
        async throws(IngestError) -> Acceptance
    {
        guard let sequence = Int64(exactly: batch.sequence) else {
            throw IngestError(.malformedBatch, "batch sequence \(batch.sequence) is out of range")
        }
        let kidHex = batch.kid.hexString
        let link = BatchChainLink(kid: batch.kid, sequence: batch.sequence, previousHash: batch.previousHash, hash: batch.hash)
        do {
            return try await pool.write { db in
                let chain = try Row.fetchOne(
                    db, sql: "SELECT kid, sequence, hash FROM chain WHERE device = ?", arguments: [batch.deviceID]
                ).flatMap(Self.chainState)
                let stored = try Data.fetchOne(
                    db, sql: "SELECT hash FROM batch WHERE device = ? AND kid = ? AND sequence = ?",
                    arguments: [batch.deviceID, kidHex, sequence])
                let decision = AcceptanceRules.decide(link, chain: chain, storedHashForSequence: stored.map { Array($0) })
                guard case .store(let gap, let advancesChain) = decision else { return decision }
                try db.execute(
                    sql: """
                        INSERT INTO batch (device, kid, sequence, hash, previous_hash, spool_first, spool_last,
                            record_count, received_at_ms, gap_expected, gap_note, cose)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        batch.deviceID, kidHex, sequence, Data(batch.hash), Data(batch.previousHash),
                        batch.firstSpoolSequence, batch.lastSpoolSequence, batch.records.count,
                        Self.milliseconds(receivedAt),
                        gap.flatMap { Int64(exactly: $0.expected) }, gap?.note, Data(bytes),
                    ])
                try db.execute(
                    sql: "INSERT OR IGNORE INTO device_key (device, kid, public_key) VALUES (?, ?, ?)",
                    arguments: [batch.deviceID, kidHex, Data(publicKey.rawRepresentation)])
                for anchor in BootAnchor.firstPerBoot(batch.records) {
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO boot_anchor (device, boot_id, utc_ns, boot_ns) VALUES (?, ?, ?, ?)",
                        arguments: [batch.deviceID, anchor.boot.bootID.uuidString, anchor.utcNanoseconds, anchor.boot.bootNanoseconds])
                }
                if advancesChain {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO chain (device, kid, sequence, hash) VALUES (?, ?, ?, ?)",
                        arguments: [batch.deviceID, kidHex, sequence, Data(batch.hash)])
                }
                return decision
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw IngestError(
                .busy, "the disk holding the ingest database is full: nothing was stored; free space on the receiver "
                    + "(the board keeps the batch and retries)")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            throw IngestError(.busy, "the ingest database cannot take the batch now (\(error.resultCode)); retry later")
        } catch {
            throw IngestError(.storeFailed, "storing the batch failed: \(error)")
        }
    }

    /// Unix milliseconds of the receiver's clock, which may hold any date: clamped to what an
    /// `Int64` holds (NaN is 0) instead of trapping.
    static func milliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard !value.isNaN else { return 0 }
        return Int64(exactly: value) ?? (value > 0 ? .max : .min)
    }

    private static func chainState(_ row: Row) -> ChainState? {
        guard let kid = [UInt8](hexString: row["kid"]), let sequence = UInt64(exactly: row["sequence"] as Int64) else { return nil }
        return ChainState(kid: kid, sequence: sequence, hash: Array(row["hash"] as Data))
    }

    /// Reads in one snapshot of the database.
    func read<T>(_ body: (Database) throws -> T) throws(IngestError) -> T {
        do {
            return try pool.read(body)
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.storeFailed, "reading the ingest database \(path) failed: \(error)")
        }
    }

    public func bootAnchors(device: String?) throws(IngestError) -> [String: [UUID: BootAnchor]] {
        try read { db in
            var result: [String: [UUID: BootAnchor]] = [:]
            let sql = "SELECT device, boot_id, utc_ns, boot_ns FROM boot_anchor" + (device == nil ? "" : " WHERE device = ?")
            for row in try Row.fetchAll(db, sql: sql, arguments: device.map { [$0] } ?? []) {
                guard let id = UUID(uuidString: row["boot_id"]) else { continue }
                result[row["device"], default: [:]][id] = BootAnchor(utcNanoseconds: row["utc_ns"], bootNanoseconds: row["boot_ns"])
            }
            return result
        }
    }

    public func forEachBatch(_ filter: ExportFilter, _ body: (StoredBatch) throws -> Void) throws {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let device = filter.device {
            conditions.append("b.device = ?")
            arguments += [device]
        }
        if let from = filter.fromSequence {
            conditions.append("b.sequence >= ?")
            arguments += [Int64(clamping: from)]
        }
        if let to = filter.toSequence {
            conditions.append("b.sequence <= ?")
            arguments += [Int64(clamping: to)]
        }
        if let receivedSince = filter.receivedSince {
            conditions.append("b.received_at_ms >= ?")
            arguments += [Self.milliseconds(Date(timeIntervalSince1970: receivedSince))]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        try read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT b.device, b.sequence, b.cose, k.public_key FROM batch b
                    JOIN device_key k ON k.device = b.device AND k.kid = b.kid
                    \(whereClause) ORDER BY b.device, b.id
                    """,
                arguments: arguments)
            while let row = try rows.next() {
                try body(
                    StoredBatch(
                        device: row["device"], sequence: row["sequence"], cose: Array(row["cose"] as Data),
                        publicKey: Array(row["public_key"] as Data)))
            }
        }
    }

    /// Nothing to release: the file is closed when the store goes.
    public func close() async {}
}
