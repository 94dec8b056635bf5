import ArgumentParser
import FoundationEssentials
import Glibc
import SystemSupport
import Telemetry

/// `lampctl`: the field technician's command line tool.
@main
struct Lampctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lampctl",
        abstract: "Diagnose and control a lampd street-lamp controller.",
        discussion: """
            status, events and spool ask the running lampd over its control socket \
            (--socket, default /run/lampd/control.sock); gpio and modbus probe the \
            hardware directly, without the daemon.

            Exit codes: 0 ok, 1 check failed or device error, 2 usage or \
            configuration error, 3 daemon unreachable.
            """,
        version: LampdVersion.string,
        subcommands: [
            StatusCommand.self, SelfTestCommand.self, LampCommand.self, EventsCommand.self, SpoolCommand.self, SyncCommand.self,
            DownlinkCommand.self,
            GPIOCommand.self, ModbusCommand.self, AstroCommand.self, ConfigCommand.self, IdentityCommand.self,
        ]
    )

    /// Runs the command line; usage errors exit with 2 (DESIGN.md), not
    /// ArgumentParser's default 64 (EX_USAGE).
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
                StandardStream.error.write((fullMessage(for: error) + "\n"))
                Glibc.exit(LampctlExit.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// The version printed by `--version`.
enum LampdVersion {
    static let string = "0.1.0"
}
