import ArgumentParser
import Foundation
import Ingest
import Logging

/// `lamp-ingest`: the reference receiver a city runs for lampd's signed telemetry batches.
@main
struct LampIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lamp-ingest",
        abstract: "Receive, verify and store signed telemetry batches from lampd street-lamp boards.",
        discussion: """
            serve runs the HTTP receiver (docs/uplink.md §6); migrate creates or upgrades a \
            PostgreSQL store's schema; enroll adds a board's public key; status and export read \
            what was stored; publish signs a desired state for a board (docs/downlink.md). \
            See docs/lamp-ingest.md.

            Exit codes: 0 ok, 1 failure while running, 2 usage or configuration error.
            """,
        version: "0.1.0",
        subcommands: [ServeCommand.self, MigrateCommand.self, EnrollCommand.self, StatusCommand.self, ExportCommand.self,
                      PublishCommand.self, DownlinkStatusCommand.self, EnergyCommand.self, UserCommand.self]
    )

    /// Runs the command line; usage errors exit with 2, not ArgumentParser's default 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                printError(fullMessage(for: error))
                Foundation.exit(IngestExit.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// lamp-ingest's exit codes.
enum IngestExit {
    /// Something failed while running (server could not bind, database unreadable).
    static let failure = ExitCode(1)
    /// The command line, the enrolled-keys file or a key is wrong.
    static let usage = ExitCode(2)
}

/// Reports `error` on stderr and returns the exit code for it.
func fail(_ error: any Error) -> ExitCode {
    guard let error = error as? IngestError else {
        printError("lamp-ingest: \(error)")
        return IngestExit.failure
    }
    printError("lamp-ingest: \(error.message) [\(error.code)]")
    switch error.reason {
    case .invalidEnrollment, .invalidArgument: return IngestExit.usage
    default: return IngestExit.failure
    }
}

/// Writes one line to stderr.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes one line to stdout at once (not buffered: scripts wait for `listening on`).
func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Where batches are stored, shared by the commands that read or write the store: `--store`
/// (a SQLite file or a `postgres://` URL), `--db` (a SQLite file, as before), or the
/// environment variable `LAMP_INGEST_STORE` (keeps a password off the command line).
struct DatabaseOptions: ParsableArguments {
    /// The environment variable read when neither --store nor --db is given.
    static let environmentVariable = "LAMP_INGEST_STORE"

    @Option(
        name: .long,
        help: "Where batches are stored: a SQLite file, or postgres://user:password@host:5432/database (default: $LAMP_INGEST_STORE).")
    var store: String?

    @Option(name: .long, help: "The ingest database as a SQLite file (the same as --store FILE).")
    var db: String?

    @Option(name: .long, help: "PostgreSQL only: the most connections this process opens.")
    var poolSize = PostgresBatchStore.defaultPoolSize

    func validate() throws {
        guard (1...1000).contains(poolSize) else { throw ValidationError("--pool-size must be 1–1000") }
        guard store == nil || db == nil else { throw ValidationError("give --store or --db, not both") }
        guard store != nil || db != nil || ProcessInfo.processInfo.environment[Self.environmentVariable] != nil else {
            throw ValidationError("give --store FILE-or-URL (or --db FILE, or set \(Self.environmentVariable))")
        }
    }

    /// The store the options name.
    func location() throws(IngestError) -> StoreLocation {
        if let db { return .sqlite(path: db) }
        guard let text = store ?? ProcessInfo.processInfo.environment[Self.environmentVariable] else {
            throw IngestError(.invalidArgument, "no store: give --store FILE-or-URL or set \(Self.environmentVariable)")
        }
        return try StoreLocation(text)
    }

    /// Opens the store; `mustExist` refuses to create a new, empty SQLite file (for status and export).
    func open(mustExist: Bool, logger: Logger = Logger(label: "lamp-ingest")) async throws(IngestError) -> any BatchStore {
        try await location().open(mustExist: mustExist, poolSize: poolSize, logger: logger)
    }
}
