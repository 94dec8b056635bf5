import Foundation
import Ingest
import Logging
import PostgresNIO
import Synchronization
import Testing
import TestSupport

/// The two batch stores every acceptance test runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// The PostgreSQL cluster of the tests: `scripts/postgres-test-cluster start` (run by
/// scripts/test) gives its URL in `LAMPD_TEST_POSTGRES_URL`. Without it the PostgreSQL tests are
/// skipped with one printed reason — or fail, when `LAMPD_REQUIRE_POSTGRES=1` (CI).
enum TestPostgres {
    static let urlVariable = "LAMPD_TEST_POSTGRES_URL"
    static let restartVariable = "LAMPD_TEST_POSTGRES_RESTART"
    static let requireVariable = "LAMPD_REQUIRE_POSTGRES"

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The cluster's administrative location, or nil (said once, or a failure when required).
    static func cluster(sourceLocation: SourceLocation = #_sourceLocation) throws -> PostgresLocation? {
        guard let url = environment[urlVariable], !url.isEmpty else {
            unavailable("\(urlVariable) is not set (scripts/test starts a cluster with scripts/postgres-test-cluster)", sourceLocation)
            return nil
        }
        return try PostgresLocation(url: url)
    }

    /// The shell command that restarts the cluster, or nil (said once, or a failure when required).
    static func restartCommand(sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        guard let command = environment[restartVariable], !command.isEmpty else {
            unavailable("\(restartVariable) is not set", sourceLocation)
            return nil
        }
        return command
    }

    private static func unavailable(_ why: String, _ sourceLocation: SourceLocation) {
        if environment[requireVariable] == "1" {
            Issue.record("PostgreSQL tests required (\(requireVariable)=1) but \(why)", sourceLocation: sourceLocation)
        } else if announced.withLock({ $0.insert(why).inserted }) {
            print("PostgreSQL tests skipped: \(why)")
        }
    }

    /// The reasons printed already: each once per run.
    private static let announced = Mutex<Set<String>>([])

    /// Runs `body` with a new, migrated database of its own, dropped afterwards (suites run in parallel).
    static func withDatabase(
        sourceLocation: SourceLocation = #_sourceLocation, _ body: (PostgresLocation) async throws -> Void
    ) async throws {
        guard let cluster = try cluster(sourceLocation: sourceLocation) else { return }
        let name = "lampd_test_\(UUID().uuidString.prefix(13).lowercased().replacingOccurrences(of: "-", with: ""))"
        try await admin(cluster, "CREATE DATABASE \(name)")
        let location = cluster.with(database: name)
        do {
            let store = PostgresBatchStore(location: location, poolSize: 2, logger: logger)
            do {
                _ = try await store.migrate()
            } catch {
                await store.close()
                throw error
            }
            await store.close()
            try await body(location)
        } catch {
            try? await admin(cluster, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        try await admin(cluster, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs one SQL statement on the cluster's own database.
    static func admin(_ cluster: PostgresLocation, _ sql: String) async throws {
        let client = PostgresClient(
            configuration: PostgresClient.Configuration(
                host: cluster.host, port: cluster.port, username: cluster.user, password: cluster.password,
                database: cluster.database, tls: .disable))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: sql))
        }
    }

    static let logger = Logger(label: "ingest-test-postgres")
}

/// Stores for the tests, of either kind.
enum TestStores {
    /// Runs `body` with a fresh store of `kind` (a file in `directory`, or a database of its own);
    /// `body` does not run when PostgreSQL is not available (see `TestPostgres`).
    static func with(
        _ kind: StoreKind, in directory: URL, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (any BatchStore) async throws -> Void
    ) async throws {
        switch kind {
        case .sqlite:
            try await body(try IngestStore(path: directory.appendingPathComponent("ingest.sqlite").path))
        case .postgres:
            try await TestPostgres.withDatabase(sourceLocation: sourceLocation) { location in
                let store = PostgresBatchStore(location: location, poolSize: 4, logger: TestPostgres.logger)
                do {
                    try await body(store)
                } catch {
                    await store.close()
                    throw error
                }
                await store.close()
            }
        }
    }
}
