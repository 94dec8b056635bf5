import Foundation
import Logging
import PostgresNIO

/// The published desired-state documents in PostgreSQL (table `published`, schema version 4), for
/// a city whose lamp-ingest replicas share one database: a document published through any of them
/// (or by `lamp-ingest publish --desired-state postgres://…`) is served by all, and wakes the long
/// polls held on every replica (`publicationStamp` is the table's largest `id`, a bigserial).
///
/// `publish` is one transaction under a transaction-scoped advisory lock of the device and role:
/// two publishers of one board's role take turns, so versions only grow and no two get the same one.
public final class PostgresPublishedStateStore: PublishedStateStore {
    /// Connections per process by default (pulls and publishes are short single queries).
    public static let defaultPoolSize = 4

    public var database: PostgresLocation { connections.database }
    public var location: String { database.redacted }
    /// The connection pool, its timeout and error mapping: those of the batch store on the same database.
    private let connections: PostgresBatchStore

    /// Opens a pool of at most `poolSize` connections to `database` (run `lamp-ingest migrate` first).
    public convenience init(location database: PostgresLocation, poolSize: Int = defaultPoolSize, operationTimeout: Duration = .seconds(10), logger: Logger) {
        self.init(connections: PostgresBatchStore(location: database, poolSize: poolSize, operationTimeout: operationTimeout, logger: logger))
    }

    init(connections: PostgresBatchStore) {
        self.connections = connections
    }

    /// Refuses a database whose schema is not the one this lamp-ingest knows (version 4 adds `published`).
    public func checkSchema() async throws(IngestError) { try await connections.checkSchema() }

    public func close() async { await connections.close() }

    public func lastVersion(device: String, role: String) async throws(IngestError) -> UInt64 {
        try await connections.run("reading the last published version") { client, logger in
            var last: Int64 = 0
            for try await value in try await client.query(
                "SELECT coalesce(max(version), 0) FROM published WHERE device = \(device) AND role = \(role)", logger: logger
            ).decode(Int64.self) {
                last = value
            }
            return UInt64(clamping: last)
        }
    }

    public func publish(_ document: PublishedDocument) async throws(IngestError) {
        guard let version = Int64(exactly: document.version), version >= 1 else {
            throw IngestError(.invalidArgument, "version \(document.version) is outside 1…\(Int64.max)")
        }
        let (device, role, bytes, at) = (document.device, document.role, Data(document.document), document.publishedAt)
        let lockKey = "published \(device) \(role)"
        try await connections.run("publishing \(device) \(role) version \(version)") { client, logger in
            try await client.withTransaction(logger: logger) { connection in
                // Held until COMMIT: a second publisher of this device and role waits, then sees this version.
                try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(lockKey), 0))", logger: logger)
                var last: Int64 = 0
                for try await value in try await connection.query(
                    "SELECT coalesce(max(version), 0) FROM published WHERE device = \(device) AND role = \(role)", logger: logger
                ).decode(Int64.self) {
                    last = value
                }
                guard version > last else {
                    throw IngestError(
                        .invalidArgument,
                        "\(device) already has \(role) version \(last): publish a version above it (or leave --version out)")
                }
                try await connection.query(
                    """
                    UPDATE published SET outcome = 'superseded', outcome_at = \(at)
                    WHERE device = \(device) AND role = \(role) AND outcome IS NULL
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO published (device, role, version, document, published_at)
                    VALUES (\(device), \(role), \(version), \(bytes), \(at))
                    """, logger: logger)
            }
        }
    }

    public func newest(device: String, role: String) async throws(IngestError) -> PublishedDocument? {
        try await documents(
            "reading the newest published document",
            "SELECT \(unescaped: Self.columns) FROM published WHERE device = \(device) AND role = \(role) ORDER BY version DESC LIMIT 1"
        ).first
    }

    public func markFetched(device: String, role: String, version: UInt64, at: Date) async throws(IngestError) {
        let version = Int64(clamping: version)
        try await connections.run("noting a fetch") { client, logger in
            try await client.query(
                """
                UPDATE published SET fetched_at = \(at)
                WHERE device = \(device) AND role = \(role) AND version = \(version) AND fetched_at IS NULL
                """, logger: logger)
        }
    }

    public func recordOutcome(device: String, role: String, version: UInt64, outcome: String, at: Date) async throws(IngestError) {
        let version = Int64(clamping: version)
        try await connections.run("recording an outcome") { client, logger in
            try await client.query(
                """
                UPDATE published SET outcome = \(outcome), outcome_at = \(at)
                WHERE device = \(device) AND role = \(role) AND version = \(version)
                """, logger: logger)
        }
    }

    public func history(device: String?) async throws(IngestError) -> [PublishedDocument] {
        try await documents(
            "reading the published history",
            """
            SELECT \(unescaped: Self.columns) FROM published
            WHERE \(device)::text IS NULL OR device = \(device) ORDER BY device, role, version
            """)
    }

    public func publicationStamp() async throws(IngestError) -> Int64 {
        // Rows are only ever inserted, and `id` is a sequence: it grows with every publish, from any replica.
        try await connections.run("reading the publication stamp") { client, logger in
            var stamp: Int64 = 0
            for try await value in try await client.query("SELECT coalesce(max(id), 0) FROM published", logger: logger)
                .decode(Int64.self)
            {
                stamp = value
            }
            return stamp
        }
    }

    static let columns = "device, role, version, document, published_at, fetched_at, outcome, outcome_at"

    private func documents(_ doing: String, _ query: PostgresQuery) async throws(IngestError) -> [PublishedDocument] {
        try await connections.run(doing) { client, logger in
            var rows: [PublishedDocument] = []
            for try await (device, role, version, document, publishedAt, fetchedAt, outcome, outcomeAt) in try await client.query(
                query, logger: logger
            ).decode((String, String, Int64, Data, Date, Date?, String?, Date?).self) {
                rows.append(
                    PublishedDocument(
                        device: device, role: role, version: UInt64(clamping: version), document: [UInt8](document),
                        publishedAt: publishedAt, fetchedAt: fetchedAt, outcome: outcome, outcomeAt: outcomeAt))
            }
            return rows
        }
    }
}
