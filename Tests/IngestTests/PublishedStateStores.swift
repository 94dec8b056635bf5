import Foundation
import Ingest
import Testing

/// The published-state stores the desired-state tests run against: a SQLite file, or a PostgreSQL
/// database of its own (skipped without `LAMPD_TEST_POSTGRES_URL`, like the batch stores).
enum PublishedStateStores {
    /// Runs `body` with `open`, which opens one more handle on one fresh store of `kind` (two
    /// handles stand for two replicas, or a replica and `lamp-ingest publish`), and the text a
    /// command line gives for it (`--desired-state`). Every handle opened is closed afterwards.
    static func with(
        _ kind: StoreKind, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (_ open: () async throws -> any PublishedStateStore, _ commandLine: String) async throws -> Void
    ) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        switch kind {
        case .sqlite:
            let path = directory.appendingPathComponent("published.sqlite").path
            try await body({ try SQLitePublishedStateStore(path: path) }, path)
        case .postgres:
            try await TestPostgres.withDatabase(sourceLocation: sourceLocation) { location in
                let url = TestPostgres.url(location)
                var opened: [any PublishedStateStore] = []
                do {
                    try await body({
                        let store = try await StoreLocation(url).openPublishedStateStore(logger: TestPostgres.logger)
                        opened.append(store)
                        return store
                    }, url)
                } catch {
                    for store in opened { await store.close() }
                    throw error
                }
                for store in opened { await store.close() }
            }
        }
    }
}
