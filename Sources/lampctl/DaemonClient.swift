import ArgumentParser
import LampdConfig
import ControlProtocol
import FoundationEssentials
import Glibc
import Lighting
import TextFormatting

/// Options of every command that asks the running lampd.
struct DaemonOptions: ParsableArguments {
    @Option(name: .customLong("socket"),
            help: ArgumentHelp("lampd's control socket (default: [control] socket of /etc/lampd/lampd.toml, else /run/lampd/control.sock).",
                               valueName: "path"))
    var socketOption: String?

    @OptionGroup var output: OutputOptions

    /// `--socket`, else the one lampd.toml names, else the default.
    var socket: String {
        socketOption ?? ControlConfiguration.socket(configuredIn: "/etc/lampd/lampd.toml") ?? ControlProtocol.defaultSocketPath
    }
}

/// lampctl's side of the control socket: one connection, requests one at a
/// time, errors turned into lampctl's exit codes (3 daemon unreachable,
/// 1 error answer) with the daemon's message.
struct DaemonClient: Sendable {
    let connection: ControlConnection
    let console: Console

    /// Connects to lampd, or reports why not and exits with 3.
    /// `timeout` bounds each answer (a command that waits, like `sync now`, needs more than 5 s).
    static func connect(_ options: DaemonOptions, timeout: Duration = .seconds(5)) async throws -> DaemonClient {
        let console = Console(options.output)
        let path = options.socket
        do {
            let connection = try await ControlConnection.perform {
                try ControlConnection(path: path, timeout: timeout, client: claimedOrigin())
            }
            return DaemonClient(connection: connection, console: console)
        } catch {
            throw report(error, console: console)
        }
    }

    /// Runs `request` and returns its typed result and the result as lampd sent it (for `--json`);
    /// an error answer exits with 1, a lost daemon or an answer of another shape with 3 or 1.
    func call<Request: ControlCommandRequest>(_ request: Request) async throws -> DaemonAnswer<Request.Result> {
        let connection = self.connection
        do {
            let response = try await ControlConnection.perform { try connection.send(request) }
            if let error = response.error { throw error }
            let value = try ControlConnection.decode(response.result, as: Request.Result.self, command: Request.command)
            return DaemonAnswer(value: value, json: response.result ?? .null)
        } catch {
            throw Self.report(error, console: console)
        }
    }

    /// What lampctl claims about the person behind it: the sudo/login user and
    /// the SSH client address from its environment (lampd marks them "claimed").
    static func claimedOrigin() -> ClaimedOrigin {
        let environment = ProcessInfo.processInfo.environment
        return ClaimedOrigin(
            user: environment["SUDO_USER"] ?? environment["USER"] ?? environment["LOGNAME"],
            ssh: environment["SSH_CLIENT"] ?? environment["SSH_CONNECTION"],
            tool: "lampctl \(LampdVersion.string)")
    }

    /// Prints an error (JSON on stdout with --json, else stderr) and returns the exit code.
    static func report(_ error: any Error, console: Console) -> ExitCode {
        let code: String
        let message: String
        let exit: ExitCode
        switch error {
        case let error as ControlSocketError:
            code = error.code
            message = error.message
            exit = error.code == "daemon-unreachable" || error.code == "daemon-timeout" ? LampctlExit.daemonUnreachable : LampctlExit.checkFailed
        case let error as ControlError:
            code = error.code
            message = error.message
            exit = error.code == "bad-arguments" ? LampctlExit.usage : LampctlExit.checkFailed
        case let error as ExitCode:
            return error
        default:
            code = "error"
            message = String(describing: error)
            exit = LampctlExit.checkFailed
        }
        if console.json {
            print(Console.encode(["error": ["code": code, "message": message]]))
        } else {
            printError("lampctl: \(message)")
        }
        return exit
    }
}

/// A command's result: typed, and as lampd sent it (what `--json` prints, unknown keys kept).
struct DaemonAnswer<Value: Sendable>: Sendable {
    var value: Value
    var json: JSONValue
}

/// Human forms of the numbers lampd reports.
enum Human {
    /// 3725 → "1 h 2 min", 42 → "42 s", 200000 → "2 d 7 h".
    static func duration(seconds: Double) -> String {
        let s = CheckedNumber.clampedInteger(seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        if s < 86400 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        return "\(s / 86400) d \(s % 86400 / 3600) h"
    }

    /// 1536 → "1.5 KiB".
    static func bytes(_ count: Double) -> String {
        if count < 1024 { return "\(CheckedNumber.clampedInteger(count)) B" }
        if count < 1024 * 1024 { return String(printf: "%.1f KiB", count / 1024) }
        return String(printf: "%.1f MiB", count / 1024 / 1024)
    }

    /// A JSON value as a technician reads it: 231.4, open, "text".
    static func value(_ value: JSONValue?) -> String {
        switch value {
        case .number(let n)?: n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(printf: "%.4g", n)
        case .bool(let b)?: b ? "true" : "false"
        case .string(let s)?: s
        case nil, .null?: "-"
        default: "…"
        }
    }

    /// "2025-03-01T12:00:00Z" → "12:00:00" (the screen is small; UTC is said in the header).
    static func clock(_ iso: String?) -> String {
        guard let iso, let t = iso.firstIndex(of: "T") else { return iso ?? "-" }
        return String(iso[iso.index(after: t)...].prefix(8))
    }
}
