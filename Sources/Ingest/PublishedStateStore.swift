import Foundation
import GRDB

/// One published desired-state document and what became of it (docs/downlink.md, "Status").
public struct PublishedDocument: Sendable, Hashable {
    public var device: String
    /// `scheduler` or `operator`.
    public var role: String
    public var version: UInt64
    /// The signed COSE_Sign1 bytes, served as they are.
    public var document: [UInt8]
    public var publishedAt: Date
    /// When a board's pull was first answered with it.
    public var fetchedAt: Date?
    /// `applied`, `refused: <reason>` or `superseded` once known.
    public var outcome: String?
    public var outcomeAt: Date?

    public init(device: String, role: String, version: UInt64, document: [UInt8], publishedAt: Date,
                fetchedAt: Date? = nil, outcome: String? = nil, outcomeAt: Date? = nil) {
        self.device = device
        self.role = role
        self.version = version
        self.document = document
        self.publishedAt = publishedAt
        self.fetchedAt = fetchedAt
        self.outcome = outcome
        self.outcomeAt = outcomeAt
    }

    /// published → fetched → applied / refused / superseded.
    public var status: String { outcome ?? (fetchedAt == nil ? "published" : "fetched") }
}

/// Where lamp-ingest keeps every published desired-state version, per device and role.
/// `SQLitePublishedStateStore` is the one there is; a PostgreSQL one can follow behind this protocol.
public protocol PublishedStateStore: Sendable {
    /// The highest version published for `device` and `role` (0: none).
    func lastVersion(device: String, role: String) async throws(IngestError) -> UInt64
    /// Stores `document`; refuses a version not above the last one of its device and role.
    /// Marks the earlier versions not yet applied or refused as `superseded`.
    func publish(_ document: PublishedDocument) async throws(IngestError)
    /// The newest document of `device` and `role`, if any.
    func newest(device: String, role: String) async throws(IngestError) -> PublishedDocument?
    /// Notes that a pull was answered with this version (the first time counts).
    func markFetched(device: String, role: String, version: UInt64, at: Date) async throws(IngestError)
    /// Records what the board said of a version (`applied`, `refused: reason`).
    func recordOutcome(device: String, role: String, version: UInt64, outcome: String, at: Date) async throws(IngestError)
    /// Every published version, of one device or all, by device, role and version.
    func history(device: String?) async throws(IngestError) -> [PublishedDocument]
    /// A number that changes whenever a document is published, by this process or another
    /// (`lamp-ingest publish` writes the same store): what wakes held long polls.
    func publicationStamp() async throws(IngestError) -> Int64
    /// Ends its connections (a command that opened it is done).
    func close() async
}

extension PublishedStateStore {
    public func close() async {}
}

/// The published documents in their own SQLite file (WAL, `synchronous = FULL`: a publish is on
/// disk when it returns), kept beside the ingest database.
public final class SQLitePublishedStateStore: PublishedStateStore {
    public let path: String
    private let pool: DatabasePool

    public init(path: String) throws(IngestError) {
        self.path = path
        do {
            pool = try DurableSQLitePool.open(path: path, label: "published") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS published (
                            device TEXT NOT NULL,
                            role TEXT NOT NULL,
                            version INTEGER NOT NULL,
                            document BLOB NOT NULL,            -- the signed COSE_Sign1
                            published_at_ms INTEGER NOT NULL,  -- Unix time, milliseconds
                            fetched_at_ms INTEGER,
                            outcome TEXT,                      -- applied, refused: reason, superseded
                            outcome_at_ms INTEGER,
                            PRIMARY KEY (device, role, version)
                        )
                        """)
            }
        } catch {
            throw IngestError(.storeFailed, "cannot open the published-state store \(path): \(error) — check the path and its permissions")
        }
    }

    public func lastVersion(device: String, role: String) throws(IngestError) -> UInt64 {
        try access { db in
            UInt64(clamping: try Int64.fetchOne(db, sql: "SELECT MAX(version) FROM published WHERE device = ? AND role = ?",
                                                arguments: [device, role]) ?? 0)
        }
    }

    public func publish(_ document: PublishedDocument) throws(IngestError) {
        guard let version = Int64(exactly: document.version), version >= 1 else {
            throw IngestError(.invalidArgument, "version \(document.version) is outside 1…\(Int64.max)")
        }
        var refusal: IngestError?
        try write { db in
            let last = try Int64.fetchOne(db, sql: "SELECT MAX(version) FROM published WHERE device = ? AND role = ?",
                                          arguments: [document.device, document.role]) ?? 0
            guard version > last else {
                refusal = IngestError(.invalidArgument, "\(document.device) already has \(document.role) version \(last): publish a version above it (or leave --version out)")
                return
            }
            let now = Self.milliseconds(document.publishedAt)
            try db.execute(sql: "UPDATE published SET outcome = 'superseded', outcome_at_ms = ? WHERE device = ? AND role = ? AND outcome IS NULL",
                           arguments: [now, document.device, document.role])
            try db.execute(sql: "INSERT INTO published (device, role, version, document, published_at_ms) VALUES (?, ?, ?, ?, ?)",
                           arguments: [document.device, document.role, version, Data(document.document), now])
        }
        if let refusal { throw refusal }
    }

    public func newest(device: String, role: String) throws(IngestError) -> PublishedDocument? {
        try access { db in
            try Row.fetchOne(db, sql: "SELECT * FROM published WHERE device = ? AND role = ? ORDER BY version DESC LIMIT 1",
                             arguments: [device, role]).map(Self.document)
        }
    }

    public func markFetched(device: String, role: String, version: UInt64, at: Date) throws(IngestError) {
        try write { db in
            try db.execute(sql: "UPDATE published SET fetched_at_ms = ? WHERE device = ? AND role = ? AND version = ? AND fetched_at_ms IS NULL",
                           arguments: [Self.milliseconds(at), device, role, Int64(clamping: version)])
        }
    }

    public func recordOutcome(device: String, role: String, version: UInt64, outcome: String, at: Date) throws(IngestError) {
        try write { db in
            try db.execute(sql: "UPDATE published SET outcome = ?, outcome_at_ms = ? WHERE device = ? AND role = ? AND version = ?",
                           arguments: [outcome, Self.milliseconds(at), device, role, Int64(clamping: version)])
        }
    }

    public func history(device: String?) throws(IngestError) -> [PublishedDocument] {
        try access { db in
            try Row.fetchAll(db, sql: "SELECT * FROM published WHERE ?1 IS NULL OR device = ?1 ORDER BY device, role, version",
                             arguments: [device]).map(Self.document)
        }
    }

    public func publicationStamp() throws(IngestError) -> Int64 {
        // Rows are only ever inserted (never deleted), so the largest rowid grows with every publish.
        try access { db in try Int64.fetchOne(db, sql: "SELECT MAX(rowid) FROM published") ?? 0 }
    }

    static func document(_ row: Row) -> PublishedDocument {
        func date(_ column: String) -> Date? { (row[column] as Int64?).map { Date(timeIntervalSince1970: Double($0) / 1000) } }
        return PublishedDocument(
            device: row["device"], role: row["role"], version: UInt64(clamping: row["version"] as Int64),
            document: [UInt8](row["document"] as Data), publishedAt: date("published_at_ms") ?? Date(timeIntervalSince1970: 0),
            fetchedAt: date("fetched_at_ms"), outcome: row["outcome"], outcomeAt: date("outcome_at_ms"))
    }

    static func milliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        return value.isFinite && abs(value) < 9e15 ? Int64(value) : 0
    }

    private func access<T>(_ body: (Database) throws -> T) throws(IngestError) -> T {
        do { return try pool.read(body) } catch {
            throw IngestError(.storeFailed, "the published-state store \(path) cannot be read: \(error)")
        }
    }

    private func write(_ body: (Database) throws -> Void) throws(IngestError) {
        do { try pool.write(body) } catch {
            throw IngestError(.storeFailed, "the published-state store \(path) cannot be written: \(error)")
        }
    }
}
