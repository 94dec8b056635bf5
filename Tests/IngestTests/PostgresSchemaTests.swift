import Foundation
import Ingest
import Logging
import Testing

/// `lamp-ingest migrate`, the schema check of serve/status/export, and the store URL.
@Suite("PostgreSQL schema, migrate and store URL")
struct PostgresSchemaTests {
    @Test("a store URL is a SQLite path or a postgres:// URL; bad ones say what to write")
    func storeLocation() throws {
        #expect(try StoreLocation("/var/lib/lamp-ingest/ingest.sqlite") == .sqlite(path: "/var/lib/lamp-ingest/ingest.sqlite"))
        guard case .postgres(let url) = try StoreLocation("postgresql://lamp%40city:p%3Ass@db.example:6543/ingest?sslmode=require")
        else {
            Issue.record("not a PostgreSQL location")
            return
        }
        #expect(url.user == "lamp@city" && url.password == "p:ss" && url.host == "db.example" && url.port == 6543)
        #expect(url.database == "ingest" && url.tlsMode == .require && url.socketDirectory == nil)
        #expect(url.redacted == "postgres://lamp@city@db.example:6543/ingest")
        guard case .postgres(let socket) = try StoreLocation("postgres://lamp@/lamp?host=/run/postgresql") else { return }
        #expect(socket.socketDirectory == "/run/postgresql" && socket.database == "lamp" && socket.tlsMode == .prefer)
        for bad in ["mysql://a@b/c", "postgres://db.example/ingest", "postgres://a@b/c?sslmode=verify-full", "postgres://a@b:0/c", ""] {
            #expect(throws: IngestError.self, "\(bad)") { try StoreLocation(bad) }
        }
    }

    @Test("migrate is idempotent; serve refuses a database without the schema or with a newer one")
    func migrateAndCheck() async throws {
        guard let cluster = try TestPostgres.cluster() else { return }
        let name = "lampd_test_schema_\(UInt32.random(in: 0...UInt32.max))"
        try await TestPostgres.admin(cluster, "CREATE DATABASE \(name)")
        do {
            try await Self.migrateAndCheck(cluster: cluster, name: name)
        } catch {
            try? await TestPostgres.admin(cluster, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        try await TestPostgres.admin(cluster, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    static func migrateAndCheck(cluster: PostgresLocation, name: String) async throws {
        let location = StoreLocation.postgres(cluster.with(database: name))
        let logger = TestPostgres.logger

        // No schema yet: refused, with the command that fixes it.
        do {
            _ = try await location.open(mustExist: true, logger: logger)
            Issue.record("a database without the schema was opened")
        } catch {
            #expect(error.message.contains("lamp-ingest migrate"), "\(error.message)")
        }

        let store = PostgresBatchStore(location: cluster.with(database: name), poolSize: 1, logger: logger)
        let first = try await store.migrate(now: Date(timeIntervalSince1970: 1_764_547_200), retentionMonths: nil)  // 2025-12-01
        #expect(first.first == "applied schema version 1")
        #expect(first.last == "partitions ready up to batch_y2026m03")
        // Ledger rows of a month the retention drops, and of one it keeps.
        try await TestPostgres.admin(cluster.with(database: name), """
            INSERT INTO batch_ledger (device, kid, sequence, hash, received_at) VALUES
                ('pole-1', '0011223344556677', 1, '\\x00', '2025-12-15 10:00:00+00'),
                ('pole-1', '0011223344556677', 2, '\\x00', '2025-12-31 23:59:59+00'),
                ('pole-1', '0011223344556677', 3, '\\x00', '2026-01-01 00:00:00+00')
            """)
        // Again, later, with retention: nothing to migrate; the partitions older than 3 months go,
        // and the ledger rows of the batches received in them.
        let second = try await store.migrate(now: Date(timeIntervalSince1970: 1_775_001_600), retentionMonths: 3)  // 2026-04-01
        #expect(second.first == "schema is at version \(PostgresBatchStore.schemaVersion): nothing to migrate")
        #expect(second.contains("dropped batch_y2025m12 (older than 3 months)"))
        #expect(second.last == "removed 2 ledger rows of batches received before 2026-01-01", "\(second)")
        let third = try await store.migrate(now: Date(timeIntervalSince1970: 1_775_001_600), retentionMonths: 3)
        #expect(third.last == "removed 0 ledger rows of batches received before 2026-01-01", "\(third)")
        #expect(!second.contains { $0.contains("batch_y2026m01") })
        await store.close()
        let opened = try await location.open(mustExist: true, logger: logger)
        #expect(try await opened.status().isEmpty)
        await opened.close()

        // A newer lamp-ingest migrated it: this one refuses instead of guessing.
        try await TestPostgres.admin(cluster.with(database: name), "INSERT INTO lamp_ingest_schema (version) VALUES (99)")
        do {
            _ = try await location.open(mustExist: true, logger: logger)
            Issue.record("a database with a newer schema was opened")
        } catch {
            #expect(error.message.contains("newer than this lamp-ingest knows"), "\(error.message)")
        }
    }
}
