import ArgumentParser
import Foundation
import Ingest

/// `lamp-ingest`: the reference receiver a city runs for lampd's signed telemetry batches.
@main
struct LampIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lamp-ingest",
        abstract: "Receive, verify and store signed telemetry batches from lampd street-lamp boards.",
        discussion: """
            serve runs the HTTP receiver (docs/uplink.md §6); enroll adds a board's public key; \
            status and export read what was stored; publish signs a desired state for a board \
            (docs/downlink.md). See docs/lamp-ingest.md.

            Exit codes: 0 ok, 1 failure while running, 2 usage or configuration error.
            """,
        version: "0.1.0",
        subcommands: [ServeCommand.self, EnrollCommand.self, StatusCommand.self, ExportCommand.self, PublishCommand.self, DownlinkStatusCommand.self]
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

/// The `--db` option, shared by the commands that read or write the store.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The ingest database (SQLite file).")
    var db: String

    /// Opens the store; `mustExist` refuses to create a new, empty file (for status and export).
    func open(mustExist: Bool) throws(IngestError) -> IngestStore {
        if mustExist, !FileManager.default.fileExists(atPath: db) {
            throw IngestError(.invalidArgument, "no ingest database at \(db): check --db (serve creates it)")
        }
        return try IngestStore(path: db)
    }
}
