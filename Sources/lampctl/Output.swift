import ArgumentParser
import FoundationEssentials
import Glibc
import Hardware
import SystemSupport
import Telemetry

/// Options every lampctl command takes.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}

/// lampctl's exit codes (see DESIGN.md, "Interfaces").
enum LampctlExit {
    /// A check failed, or a device answered with an error or not at all.
    static let checkFailed = ExitCode(1)
    /// The command line or a configuration file is wrong.
    static let usage = ExitCode(2)
    /// The lampd daemon did not answer on its control socket.
    static let daemonUnreachable = ExitCode(3)
}

/// Writes results and errors in the form the caller asked for.
struct Console {
    let json: Bool

    init(_ options: OutputOptions) { self.json = options.json }

    /// Prints one line of human text (only in text mode).
    func line(_ text: String) {
        if !json { print(text) }
    }

    /// Prints a value as pretty, key-sorted JSON (only in JSON mode).
    func emit(_ value: some Encodable) {
        guard json else { return }
        print(Self.encode(value))
    }

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else {
            return "{}"
        }
        return text
    }

    /// Reports an error and returns the exit code to throw.
    ///
    /// In JSON mode the error goes to stdout as `{"error": {"code", "message"}}`
    /// so that scripts always get JSON; in text mode to stderr.
    func fail(_ error: any Error, exit: ExitCode = LampctlExit.checkFailed) -> ExitCode {
        let summary = ErrorSummary(error)
        let code = summary.code, message = summary.message
        if json {
            print(Self.encode(["error": ["code": code, "message": message]]))
        } else {
            StandardStream.error.write("lampctl: \(message)\n")
        }
        return exit
    }

    /// Reports a usage problem (exit code 2).
    func usage(_ message: String) -> ExitCode {
        fail(UsageError(message: message), exit: LampctlExit.usage)
    }
}

/// A command-line value that parsed but makes no sense.
struct UsageError: ActionableError {
    var code: String { "usage" }
    let message: String
    var description: String { message }
}

/// Writes one line to stderr.
func printError(_ text: String) {
    StandardStream.error.write((text + "\n"))
}
