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

    /// Runs `body` with a cluster of its own (scripts/postgres-test-cluster with its own state
    /// file), for a test that restarts it without disturbing the tests that share the main one;
    /// `restart` restarts it (pg_ctl restart, fast). Stopped and removed afterwards.
    static func withOwnCluster(
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (_ cluster: PostgresLocation, _ restart: @escaping @Sendable () async throws -> Void) async throws -> Void
    ) async throws {
        guard try cluster(sourceLocation: sourceLocation) != nil else { return }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/postgres-test-cluster").path
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var environment = ProcessInfo.processInfo.environment
        environment["LAMPD_PG_CLUSTER_STATE"] = directory.appendingPathComponent("cluster.env").path
        let run: @Sendable (String) async throws -> String = { [environment] command in
            let output = try await ChildProcess.run(script, [command], environment: environment)
            guard output.exitCode == 0 else {
                throw IngestError(.storeFailed, "postgres-test-cluster \(command) failed: \(output.stderr)")
            }
            return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let url = try await run("start")
        do {
            try await body(try PostgresLocation(url: url), { _ = try await run("restart") })
        } catch {
            _ = try? await run("stop")
            throw error
        }
        _ = try await run("stop")
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
        in givenCluster: PostgresLocation? = nil, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (PostgresLocation) async throws -> Void
    ) async throws {
        guard let cluster = try givenCluster ?? cluster(sourceLocation: sourceLocation) else { return }
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

    /// The URL of `location` (with its password), for a lamp-ingest child.
    static func url(_ location: PostgresLocation) -> String {
        "postgres://\(location.user):\(location.password ?? "")@\(location.host):\(location.port)/\(location.database)?sslmode=disable"
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
