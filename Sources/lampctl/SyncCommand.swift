import ArgumentParser
import ControlProtocol
import FoundationEssentials
import Glibc

/// `lampctl sync now`: send everything pending upstream now.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Talk to the upstream receiver (asks the running lampd).",
        subcommands: [Now.self]
    )

    /// `lampctl sync now [--timeout SECONDS]`.
    struct Now: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send everything pending upstream now, and wait for the result.",
            discussion: """
                Ignores the batch window, the retry backoff and the daily byte cap. Waits until \
                the spool is drained or an attempt fails, at most --timeout seconds. Exit code 0 \
                when the spool was drained, 1 when an attempt failed or time ran out, 3 when lampd \
                does not answer. Needs root or the operators group.
                """)

        @Option(help: ArgumentHelp("Seconds to wait for the upload (1–600).", valueName: "seconds"))
        var timeout: Double = 30

        @OptionGroup var options: DaemonOptions

        func validate() throws {
            guard timeout >= 1, timeout <= 600 else { throw ValidationError("--timeout must be 1 to 600 seconds") }
        }

        func run() async throws {
            let client = try await DaemonClient.connect(options, timeout: .seconds(timeout + 5))
            let answer = try await client.call(SyncNowRequest(timeoutSeconds: timeout))
            let status = answer.value
            let drained = status.state == "idle" && status.inFlightSequence == nil
            if options.output.json {
                print(Console.encode(answer.json))
            } else {
                print(drained ? "sync: everything pending was delivered" : "sync: NOT drained (\(status.state))")
                for line in StatusCommand.uplinkLines(status) { print(StatusCommand.clip(line, 80)) }
            }
            if !drained { throw LampctlExit.checkFailed }
        }
    }
}
