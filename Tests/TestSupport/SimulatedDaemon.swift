import Foundation
import Glibc

/// A real `lampd` started by a test, with its own notify socket, control socket and temporary folder.
///
/// Start it with `withSimulatedDaemon { daemon in … }` (the standard simulated pole) or
/// `withLampd(…)`: both return only once lampd sent `READY=1` on the test's notify socket and
/// its control socket listens, fail at once — with lampd's last lines — if lampd exits before,
/// and stop it with SIGTERM (awaiting its exit) when the body ends.
public final class SimulatedDaemon: Sendable {
    /// lampd itself: its output lines, its exit.
    public let process: ChildProcess
    /// What lampd told its supervisor (`READY=1`, `STOPPING=1`, …).
    public let notifications: NotifySocket
    /// The control socket lampd listens on.
    public let socket: String
    /// The folder holding lampd.toml and state/ (for `withSimulatedDaemon`; the caller's for `withLampd`).
    public let directory: URL
    /// The configuration file lampd was started with (`withSimulatedDaemon`).
    public var configurationFile: String { directory.appendingPathComponent("lampd.toml").path }
    /// lampd's state directory (`withSimulatedDaemon`).
    public var stateDirectory: String { directory.appendingPathComponent("state").path }
    /// Asks lampd from inside the test.
    public var control: ControlClient { ControlClient(socketPath: socket) }
    /// stdout and stderr so far.
    public var output: String { process.output }

    private init(process: ChildProcess, notifications: NotifySocket, socket: String, directory: URL) {
        self.process = process
        self.notifications = notifications
        self.socket = socket
        self.directory = directory
    }

    /// Starts lampd with `arguments` and `NOTIFY_SOCKET` set; returns once it sent READY=1, which lampd
    /// sends only once the lamp is commanded, the spool open and the control socket listening.
    ///
    /// With `underSystemd: false` lampd gets no `NOTIFY_SOCKET` (it then behaves as started from a
    /// shell, e.g. its self-test skips the systemd watchdog) and readiness is its `lampd running`
    /// line, which it logs as it sends READY.
    ///
    /// Prefer the scoped `withLampd`; this is for rigs that restart lampd within one scope.
    public static func launch(arguments: [String], socket: String, directory: URL,
                              underSystemd: Bool = true) async throws -> SimulatedDaemon {
        let notifications = try NotifySocket()
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = underSystemd ? notifications.path : nil
        let process = try ChildProcess(executable: Products.path("lampd"), arguments: arguments, environment: environment)
        let daemon = SimulatedDaemon(process: process, notifications: notifications, socket: socket, directory: directory)
        // lampd exiting ends every wait on its notify socket at once (after what it sent), with its last lines.
        Task {
            let exit = await process.exitStatus
            notifications.close(reason: "lampd \(exit)", lastLines: process.transcript.last())
        }
        do {
            if underSystemd {
                try await notifications.wait(for: "READY=1")
            } else {
                try await process.transcript.wait(for: "lampd's \"lampd running\" line") { $0.contains("lampd running") }
            }
        } catch {
            process.kill()
            _ = await process.exitStatus
            notifications.close()
            throw error
        }
        return daemon
    }

    /// Stops lampd with SIGTERM and waits until it exited and its output is read (idempotent).
    @discardableResult
    public func stop() async throws -> ExitStatus {
        try await process.stop()
    }

    // MARK: - Waiting for lampd's state

    /// Asks `command` over the control socket until `accept` takes its result; fails at once if
    /// lampd exits, and after the hang guard.
    ///
    /// lampd announces neither "the meter was sampled" nor "the self-test polled the unit" (an
    /// event for that needs a change in lampd; see the report on issue 11), so this re-asks — in
    /// process, without starting lampctl — after each of lampd's own lines or, at the latest,
    /// every 100 ms.
    @discardableResult
    public func waitFor(_ description: String, asking command: String = "status", arguments: String = "{}",
                        until accept: @escaping ([String: Any]) -> Bool) async throws -> [String: Any] {
        let started = ContinuousClock.now
        while true {
            // The condition before the clock: a late answer still counts.
            if let result = try? await control.result(command, arguments: arguments), accept(result) { return result }
            if !process.isRunning {
                _ = await process.exitStatus
                throw WaitFailure(waitingFor: description, reason: "lampd \(await process.exitStatus)",
                                  lastLines: process.transcript.last(), logFile: process.transcript.logFile)
            }
            if ContinuousClock.now - started > HangGuard.duration {
                throw WaitFailure(waitingFor: description, reason: "it did not happen within \(HangGuard.duration) (the hang guard)",
                                  lastLines: process.transcript.last(), logFile: process.transcript.logFile)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Waits until lampd's status shows meter readings and its spool holds committed readings
    /// (the meter was sampled once and the commit window passed).
    public func waitUntilSampled() async throws {
        try await waitFor("lampd's status to show meter readings, committed to the spool") { result in
            let text = (try? JSONSerialization.data(withJSONObject: result)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            let committed = (result["spool"] as? [String: Any])?["pendingReadings"] as? Int ?? 0
            return text.contains("meter.voltage") && committed > 0
        }
    }

    /// Waits until lampd answers `status` (after `withLampd` it does: READY and the control socket came first).
    public func waitUntilAnswering() async throws {
        try await waitFor("lampd to answer status") { _ in true }
    }

    /// Waits until the daemon's self-test has polled the Modbus unit `device` (no `skip` for it).
    public func waitUntilPolled(_ device: String = "meter") async throws {
        try await waitFor("lampd's self-test to have polled modbus.\(device)", asking: "selftest") { result in
            let checks = result["checks"] as? [[String: Any]] ?? []
            return checks.contains { $0["name"] as? String == "modbus.\(device)" && $0["outcome"] as? String != "skip" }
        }
    }

    // MARK: - The standard simulated pole

    /// The simulated pole without lighting: the simulated board, a meter on Modbus polled every
    /// second, a traffic box on GPIO, the spool in `stateDirectory`.
    public static func poleConfiguration(stateDirectory: String) -> String {
        """
        [board]
        kind = "simulated"
        id = "test-pole"
        [storage]
        directory = "\(stateDirectory)"
        commit_window = "100ms"
        [[modbus.buses]]
        name = "bus"
        rtu = "/dev/ttyS1"
        [[modbus.devices]]
        name = "meter"
        bus = "bus"
        unit = 1
        profile = "eastron-sdm120"
        poll = "1s"
        [gpio.traffic_box]
        chip = "simulated"
        """
    }

    /// The configuration `withSimulatedDaemon` writes: `poleConfiguration` and a lamp with a night
    /// program in Berlin; `extra` is appended.
    public static func standardConfiguration(stateDirectory: String, extra: String = "") -> String {
        poleConfiguration(stateDirectory: stateDirectory) + "\n" + lampConfiguration + extra
    }

    /// The standard pole's site and lamp (a night program in Berlin), for configurations that add
    /// them to `poleConfiguration`.
    public static let lampConfiguration = """
        [site]
        latitude = 52.52
        longitude = 13.405
        timezone = "Europe/Berlin"
        [lighting]
        output = "relay+pwm"
        [lighting.relay]
        line = "LAMP_RELAY"
        [lighting.pwm]
        chip = 0
        channel = 0
        [lighting.program]
        from = "sunset+00:10"
        to = "sunrise-00:10"
        [lighting.program.switch_points]
        "23:00" = 60
        "05:00" = 100

        """
}

/// Runs `body` with `lampd arguments…` running: started once READY=1 arrived on its own notify
/// socket and its control socket `socket` listens; stopped with SIGTERM (its exit awaited) after.
///
/// Holds one of the `ChildSlots` while it runs.
public func withLampd<T>(
    arguments: [String], socket: String, directory: URL, underSystemd: Bool = true,
    _ body: (SimulatedDaemon) async throws -> T
) async throws -> T {
    try await ChildSlots.withSlot {
        let daemon = try await SimulatedDaemon.launch(arguments: arguments, socket: socket, directory: directory, underSystemd: underSystemd)
        let result: T
        do {
            result = try await body(daemon)
        } catch {
            _ = try? await daemon.stop()
            throw error
        }
        try await daemon.stop()
        return result
    }
}

/// Runs `body` with `lampd --simulate` on the standard simulated pole
/// (`SimulatedDaemon.standardConfiguration`) in a temporary folder, removed afterwards.
///
/// - Parameters:
///   - arguments: more lampd arguments, e.g. `--simulate-fault meter-silent`.
///   - configuration: more TOML for lampd.toml.
///   - underSystemd: give lampd a `NOTIFY_SOCKET` (see `SimulatedDaemon.launch`).
public func withSimulatedDaemon<T>(
    arguments: [String] = [], configuration extra: String = "", underSystemd: Bool = true,
    _ body: (SimulatedDaemon) async throws -> T
) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-daemon-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let config = directory.appendingPathComponent("lampd.toml")
    let socket = directory.appendingPathComponent("control.sock").path
    try SimulatedDaemon.standardConfiguration(stateDirectory: directory.appendingPathComponent("state").path, extra: extra)
        .write(to: config, atomically: true, encoding: .utf8)
    return try await withLampd(arguments: ["--simulate", "--config", config.path, "--socket", socket] + arguments,
                               socket: socket, directory: directory, underSystemd: underSystemd, body)
}
