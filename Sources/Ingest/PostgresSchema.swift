import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL schema, as numbered migrations: `lamp_ingest_schema` holds the versions
/// applied. A migration is never edited once released; a change is a new one at the end.
public enum PostgresSchema {
    /// Migration N (1-based) is `migrations[N - 1]`: statements run in one transaction.
    static let migrations: [[String]] = [
        [
            // One row per batch ever accepted, never partitioned: the exactly-once key.
            """
            CREATE TABLE batch_ledger (
                device text NOT NULL,
                kid text NOT NULL,
                sequence bigint NOT NULL,
                hash bytea NOT NULL,
                received_at timestamptz NOT NULL,
                PRIMARY KEY (device, kid, sequence)
            )
            """,
            // The batches themselves, as signed, by arrival month (PARTITION OF ... per month).
            """
            CREATE TABLE batch (
                id bigserial NOT NULL,
                device text NOT NULL,
                kid text NOT NULL,
                sequence bigint NOT NULL,
                hash bytea NOT NULL,
                previous_hash bytea NOT NULL,
                spool_first bigint NOT NULL,
                spool_last bigint NOT NULL,
                record_count integer NOT NULL,
                received_at timestamptz NOT NULL,
                gap_expected bigint,
                gap_note text,
                cose bytea NOT NULL
            ) PARTITION BY RANGE (received_at)
            """,
            // Whatever falls outside the monthly partitions: nothing is ever refused for a date.
            "CREATE TABLE batch_default PARTITION OF batch DEFAULT",
            "CREATE INDEX batch_device_id ON batch (device, id)",
            // Per device the chain's head; a row with NULLs is a device whose first batch is being stored.
            "CREATE TABLE chain (device text PRIMARY KEY, kid text, sequence bigint, hash bytea)",
            """
            CREATE TABLE device_key (
                device text NOT NULL, kid text NOT NULL, public_key bytea NOT NULL, PRIMARY KEY (device, kid)
            )
            """,
            """
            CREATE TABLE boot_anchor (
                device text NOT NULL, boot_id text NOT NULL, utc_ns bigint NOT NULL, boot_ns bigint NOT NULL,
                PRIMARY KEY (device, boot_id)
            )
            """,
        ],
        [
            // A period's batches (ExportFilter.receivedSince): a city's day, one pole's days.
            "CREATE INDEX batch_received_at ON batch (received_at)",
            "CREATE INDEX batch_device_received_at ON batch (device, received_at)",
        ],
        [
            // The retention also removes the ledger rows of the months it drops (migrate --retention-months).
            "CREATE INDEX batch_ledger_received_at ON batch_ledger (received_at)",
        ],
        [
            // The published desired-state documents (PostgresPublishedStateStore): replicas share them.
            // `id` only grows, so max(id) tells every replica's long polls that something was published.
            """
            CREATE TABLE published (
                id bigserial PRIMARY KEY,
                device text NOT NULL,
                role text NOT NULL,
                version bigint NOT NULL,
                document bytea NOT NULL,
                published_at timestamptz NOT NULL,
                fetched_at timestamptz,
                outcome text,
                outcome_at timestamptz,
                UNIQUE (device, role, version)
            )
            """,
        ],
    ]

    /// The highest version applied, 0 without the version table.
    static func version(_ connection: PostgresConnection, logger: Logger) async throws -> Int32 {
        var exists = false
        for try await value in try await connection.query(
            "SELECT to_regclass('lamp_ingest_schema') IS NOT NULL", logger: logger
        ).decode(Bool.self) {
            exists = value
        }
        guard exists else { return 0 }
        var version: Int32 = 0
        for try await value in try await connection.query(
            "SELECT coalesce(max(version), 0) FROM lamp_ingest_schema", logger: logger
        ).decode(Int32.self) {
            version = value
        }
        return version
    }

    /// The monthly partitions of `batch`.
    static let partitionsQuery: PostgresQuery = """
        SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'batch'
        """

    /// Refuses a schema other than `known`.
    static func check(_ version: Int32, known: Int32, location: String) throws(IngestError) {
        if version == known { return }
        if version == 0 {
            throw IngestError(
                .storeFailed, "the database \(location) has no lamp-ingest schema: run `lamp-ingest migrate --store <URL>` first")
        }
        if version < known {
            throw IngestError(
                .storeFailed,
                "the database \(location) has schema version \(version), this lamp-ingest needs \(known): run `lamp-ingest migrate --store <URL>`")
        }
        throw IngestError(
            .storeFailed,
            "the database \(location) has schema version \(version), newer than this lamp-ingest knows (\(known)): "
                + "upgrade lamp-ingest on this host to the version that migrated it")
    }

    /// Applies the migrations after the database's version, in the caller's transaction, under an
    /// advisory lock so that concurrent runs apply each migration once.
    static func migrate(_ connection: PostgresConnection, known: Int32, logger: Logger) async throws -> [String] {
        try await connection.query("SELECT pg_advisory_xact_lock(7245001)", logger: logger)
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS lamp_ingest_schema (
                version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        let current = try await version(connection, logger: logger)
        if current > known {
            throw IngestError(
                .storeFailed,
                "the database has schema version \(current), newer than this lamp-ingest knows (\(known)): upgrade lamp-ingest")
        }
        if current == known { return ["schema is at version \(known): nothing to migrate"] }
        var report: [String] = []
        for version in (current + 1)...known {
            for statement in migrations[Int(version) - 1] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query("INSERT INTO lamp_ingest_schema (version) VALUES (\(version))", logger: logger)
            report.append("applied schema version \(version)")
        }
        return report
    }
}

/// One month of the `batch` table's partitions (UTC), named `batch_yYYYYmMM`.
struct PartitionMonth: Comparable, Sendable {
    var year: Int
    /// 1–12.
    var month: Int

    init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    init(containing date: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month], from: date)
        self.init(year: parts.year ?? 1970, month: parts.month ?? 1)
    }

    /// Reads a partition's table name; nil for any other table (the default partition too).
    init?(tableName: String) {
        let prefix = "batch_y"
        guard tableName.hasPrefix(prefix), tableName.count == prefix.count + 7 else { return nil }
        let rest = tableName.dropFirst(prefix.count)
        guard rest.dropFirst(4).first == "m", let year = Int(rest.prefix(4)), let month = Int(rest.suffix(2)),
            (1...12).contains(month)
        else { return nil }
        self.init(year: year, month: month)
    }

    /// This month and the `ahead` following ones.
    static func range(around date: Date, ahead: Int) -> [PartitionMonth] {
        let start = PartitionMonth(containing: date)
        return (0...max(0, ahead)).map { start.adding(months: $0) }
    }

    func adding(months: Int) -> PartitionMonth {
        let index = year * 12 + (month - 1) + months
        return PartitionMonth(year: index / 12, month: index % 12 + 1)
    }

    var tableName: String { "batch_y\(String(format: "%04d", year))m\(String(format: "%02d", month))" }

    var firstDay: String { "\(String(format: "%04d", year))-\(String(format: "%02d", month))-01 00:00:00+00" }

    var createSQL: String {
        "CREATE TABLE IF NOT EXISTS \(tableName) PARTITION OF batch FOR VALUES FROM ('\(firstDay)') TO ('\(adding(months: 1).firstDay)')"
    }

    static func < (a: PartitionMonth, b: PartitionMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }
}
