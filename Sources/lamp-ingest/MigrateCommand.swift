import ArgumentParser
import Foundation
import Ingest
import Logging

/// `lamp-ingest migrate`: creates or upgrades a PostgreSQL store's schema and its monthly
/// partitions, and applies the retention. Idempotent: run it at every upgrade and monthly.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the store's schema; create the next months' partitions; drop those past the retention.",
        discussion: """
            Safe to run again and from several hosts at once. Run it before the first serve, after \
            every upgrade of lamp-ingest, and monthly (a systemd timer) so the next months' \
            partitions exist. A SQLite store needs no migrate (serve creates its file).
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: "Drop the batch partitions that ended more than this many months ago (default: keep all).")
    var retentionMonths: Int?

    @Option(name: .long, help: "Create partitions for this month and this many following ones.")
    var monthsAhead = 3

    func validate() throws {
        if let retentionMonths, !(1...1200).contains(retentionMonths) {
            throw ValidationError("--retention-months must be 1–1200")
        }
        guard (0...120).contains(monthsAhead) else { throw ValidationError("--months-ahead must be 0–120") }
    }

    func run() async throws {
        do {
            switch try database.location() {
            case .sqlite(let path):
                let store = try IngestStore(path: path)
                printLine("\(store.location): SQLite store ready (its schema is created when it is opened)")
            case .postgres(let location):
                let store = PostgresBatchStore(location: location, poolSize: 1, logger: Logger(label: "lamp-ingest"))
                let report: [String]
                do {
                    report = try await store.migrate(monthsAhead: monthsAhead, retentionMonths: retentionMonths)
                } catch {
                    await store.close()
                    throw error
                }
                await store.close()
                for line in report { printLine("\(location.redacted): \(line)") }
            }
        } catch {
            throw fail(error)
        }
    }
}
