import LampdConfig
import ControlProtocol
import ArgumentParser
import FoundationEssentials
import Glibc
import Lighting
import Telemetry
import Clocks
import TextFormatting

/// `lampctl selftest`: every check a technician would do by hand, one line each.
struct SelfTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Check the whole pole: configuration, key, storage, daemon, hardware, clock, watchdogs, uplink.",
        discussion: """
            One PASS, FAIL or SKIP line per check. lampctl checks the configuration file, \
            the device key, the state directory and the disk itself — those lampd says it \
            runs with, unless --config names another file; the GPIO lines, \
            Modbus units, meter, clock and watchdogs are checked by the running lampd, \
            which holds the hardware. SKIP means it could not be checked here (not \
            configured, or needs sudo). Exit code 0 when nothing failed, 1 when a check failed.
            """)

    @Option(help: ArgumentHelp("lampd's configuration file (default: the one the running lampd uses, else /etc/lampd/lampd.toml).",
                               valueName: "path"))
    var config: String?

    @OptionGroup var options: DaemonOptions

    /// The whole answer, as `--json` prints it.
    struct Report: Encodable {
        var checks: [SelfTestCheck]
        var passed: Int
        var failed: Int
        var skipped: Int
        var ok: Bool
    }

    func run() async throws {
        let daemon = await connect()
        var (checks, configuration) = localSelfTest(daemon: daemon.ping).run()
        checks += await daemonChecks(daemon, configuration: configuration)
        let report = Report(
            checks: checks, passed: checks.count { $0.outcome == .pass }, failed: checks.count { $0.outcome == .fail },
            skipped: checks.count { $0.outcome == .skip }, ok: !checks.contains { $0.outcome == .fail })
        if options.output.json {
            print(Console.encode(report))
        } else {
            for line in SelfTestText.render(checks, colour: SelfTestText.wantsColour()) { print(line) }
            print("\(report.passed) passed, \(report.failed) failed, \(report.skipped) skipped")
        }
        if !report.ok { throw LampctlExit.checkFailed }
    }

    /// The running lampd and its `ping` (what it runs with), or why it cannot be asked.
    struct Daemon {
        var connection: ControlConnection?
        var ping: PingResult?
        var problem: String?
    }

    func connect() async -> Daemon {
        let path = options.socket
        do {
            let connection = try await ControlConnection.perform {
                try ControlConnection(path: path, timeout: .seconds(5), client: DaemonClient.claimedOrigin())
            }
            let pong = try await ControlConnection.perform { try connection.send(PingRequest()) }
            if let error = pong.error { throw error }
            let ping = try ControlConnection.decode(pong.result, as: PingResult.self, command: PingRequest.command)
            return Daemon(connection: connection, ping: ping)
        } catch {
            return Daemon(problem: (error as? ControlSocketError)?.message ?? "\(error)")
        }
    }

    /// The files to check: `--config`, else the configuration and state directory lampd runs with, else the board's.
    func localSelfTest(daemon ping: PingResult?) -> LocalSelfTest {
        if let config { return LocalSelfTest(configurationFile: config) }
        // A lampd older than the answer's stateDirectory does not say: check the board's file.
        guard let ping, ping.stateDirectory != nil else { return LocalSelfTest(configurationFile: LocalSelfTest.boardConfigurationFile) }
        return LocalSelfTest(configurationFile: ping.configurationFile, stateDirectory: ping.stateDirectory)
    }

    /// `daemon`, then what lampd checks (`selftest`), then `uplink` from its `status`.
    /// Without lampd: the hardware is probed directly and the clock checked here.
    func daemonChecks(_ daemon: Daemon, configuration: LampdConfiguration?) async -> [SelfTestCheck] {
        guard let connection = daemon.connection, let ping = daemon.ping else {
            let message = daemon.problem ?? "lampd did not answer"
            var hardware: [SelfTestCheck] = [.skip("hardware", "configuration invalid: GPIO lines and Modbus units not probed")]
            if let configuration { hardware = await DirectHardwareProbe(configuration: configuration).run() }
            return [.fail("daemon", message)] + hardware + [
                    SystemTimeSource().now().isClockSynchronised
                        ? .pass("clock", "synchronised (NTP)")
                        : .fail("clock", "not synchronised: check timesyncd or chrony and the network (timedatectl)"),
                    .skip("uplink", "lampd is not running")]
        }
        var checks: [SelfTestCheck] = [.pass("daemon", "lampd \(ping.version) answers")]
        do {
            let answer = try await ControlConnection.perform { try connection.send(SelfTestRequest()) }
            if let error = answer.error {
                checks.append(.skip("hardware", "this lampd cannot self-test (\(error.code)); upgrade it"))
            } else {
                checks += try ControlConnection.decode(answer.result, as: SelfTestResult.self, command: SelfTestRequest.command).checks
            }
            let status = try await ControlConnection.perform { try connection.send(StatusRequest()) }
            checks.append(Self.uplink(try? ControlConnection.decode(status.result, as: StatusResult.self, command: StatusRequest.command).uplink))
        } catch {
            checks.append(.fail("daemon", "lampd stopped answering: \((error as? ControlSocketError)?.message ?? "\(error)")"))
        }
        return checks
    }

    /// Upstream reachable: from the `uplink` object of lampd's `status`, when it has one.
    static func uplink(_ uplink: UplinkStatus?) -> SelfTestCheck {
        guard let uplink else { return .skip("uplink", "this lampd reports no uplink") }
        if let error = uplink.lastError {
            return .fail("uplink", "last upload failed: \(error)")
        }
        guard let last = uplink.lastSuccessfulUpload else {
            return .skip("uplink", "nothing uploaded yet")
        }
        return .pass("uplink", "last successful upload \(last)")
    }
}

/// The self-test as text: `PASS  name  detail`, each line at most 80 columns.
enum SelfTestText {
    static let width = 80
    static let nameWidth = 18

    static func render(_ checks: [SelfTestCheck], colour: Bool) -> [String] {
        var lines: [String] = []
        var cut: [SelfTestCheck] = []
        for check in checks {
            let word = check.outcome.rawValue.uppercased()
            let name = check.name.fitted(toWidth: max(nameWidth, check.name.count))
            var line = "\(word.fitted(toWidth: 4))  \(name)  \(check.detail)"
            if line.count > width {
                line = String(line.prefix(width - 1)) + "…"
                if check.outcome == .fail { cut.append(check) }
            }
            if colour {
                let code = switch check.outcome { case .pass: "32"; case .fail: "31"; case .skip: "33" }
                line = "\u{1B}[\(code)m\(word)\u{1B}[0m" + line.dropFirst(word.count)
            }
            lines.append(line)
        }
        for check in cut {
            lines.append("")
            lines += LampCommand.Explain.wrap("\(check.name): \(check.detail)", width: width)
        }
        return lines
    }

    /// Colour only on a terminal, and not when `NO_COLOR` is set or `TERM=dumb`.
    static func wantsColour() -> Bool {
        let environment = ProcessInfo.processInfo.environment
        return isatty(STDOUT_FILENO) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
    }
}
