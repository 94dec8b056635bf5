import Foundation
import Telemetry
import Testing
import TestSupport

/// `lampd` run as a real process on the simulated board, started and stopped the way systemd
/// does it (`NOTIFY_SOCKET`, SIGTERM).
@Suite("lampd process")
struct DaemonProcessTests {
    /// A temporary folder with lampd.toml (`SimulatedDaemon.poleConfiguration`) and room for state/.
    struct Pole {
        let directory: URL
        var state: URL { directory.appendingPathComponent("state") }
        var configFile: URL { directory.appendingPathComponent("lampd.toml") }
        var socket: String { state.appendingPathComponent("control.sock").path }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-daemon-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try configuration.write(to: configFile, atomically: true, encoding: .utf8)
        }

        var configuration: String { SimulatedDaemon.poleConfiguration(stateDirectory: state.path) }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test func sigtermCommitsWhatWasSampledAndExitsCleanly() async throws {
        let pole = try Pole()
        defer { pole.remove() }
        let (directory, state, configFile) = (pole.directory, pole.state, pole.configFile)

        let socket = state.appendingPathComponent("control.sock").path
        let (status, output, messages) = try await withLampd(arguments: ["--config", configFile.path], socket: socket, directory: directory) { daemon in
            // READY came (withLampd awaits it), after lampd said so in its log.
            try await daemon.process.transcript.wait(forLineContaining: "lampd running")
            let ready = daemon.notifications.messages.lines.first { $0.hasPrefix("READY=1") }
            #expect(ready?.hasPrefix("READY=1\nSTATUS=running on the simulated board") == true, "\(daemon.notifications.messages.lines)")
            try await daemon.waitUntilSampled()  // a poll or two, committed
            let status = try await daemon.stop()
            return (status, daemon.output, daemon.notifications.messages)
        }
        #expect(status == .exited(0), "\(output)")
        #expect(output.contains("spool flushed"))
        #expect(try await messages.wait(for: "STOPPING=1 from lampd") { $0.contains("STOPPING=1") }.contains("STOPPING=1"))

        let spool = try await Spool.open(SpoolConfiguration(path: state.appendingPathComponent("spool.sqlite").path))
        let records = try await spool.oldestPending(limit: 1000)
        let events = records.compactMap { record -> Event? in if case let .event(event) = record.record { return event } else { return nil } }
        let channels = Set(records.compactMap { record -> String? in if case let .reading(reading) = record.record { return reading.channel.rawValue } else { return nil } })
        #expect(events.first?.kind == "agent.started")
        #expect(channels.isSuperset(of: ["meter.voltage", "meter.energy", "cabinet.door", "cabinet.mains"]))
        try spool.close()
    }

    /// Starts lampd, waits until it is READY, stops it with SIGTERM; returns its exit code and output.
    func runBriefly(config: URL, state: URL) async throws -> (status: Int32, output: String) {
        try await withLampd(arguments: ["--config", config.path], socket: state.appendingPathComponent("control.sock").path,
                            directory: config.deletingLastPathComponent()) { daemon in
            try await daemon.process.transcript.wait(forLineContaining: "lampd running")
            return (try await daemon.stop().code, daemon.output)
        }
    }

    /// Light first: a broken edit of the configuration runs the last good one, with an alarm.
    @Test func aBrokenEditRunsOnTheLastGoodConfiguration() async throws {
        let pole = try Pole()
        defer { pole.remove() }
        let (state, configFile) = (pole.state, pole.configFile)
        let first = try await runBriefly(config: configFile, state: state)
        #expect(first.status == 0, "\(first.output)")
        #expect(FileManager.default.fileExists(atPath: state.appendingPathComponent("last-good.toml").path))

        // A technician's typo: the file no longer loads.
        let broken = pole.configuration.replacingOccurrences(of: "unit = 1", with: "unit = \"one\"")
        try broken.write(to: configFile, atomically: true, encoding: .utf8)
        let second = try await runBriefly(config: configFile, state: state)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("modbus.devices[0].unit: expected a whole number"), "\(second.output)")
        #expect(second.output.contains("running on the last good configuration"))

        let spool = try await Spool.open(SpoolConfiguration(path: state.appendingPathComponent("spool.sqlite").path))
        let events = try await spool.oldestPending(limit: 10_000).compactMap { record -> Event? in
            if case let .event(event) = record.record { return event } else { return nil }
        }
        let alarm = try #require(events.first { $0.kind == "config.invalid" })
        #expect(alarm.severity == .alarm)
        #expect(alarm.message.contains("1 problem(s)"))
        try spool.close()
    }

    @Test func aBrokenConfigurationIsRefusedWithItsLine() async throws {
        let pole = try Pole()
        defer { pole.remove() }
        let configFile = pole.configFile
        try "[board]\nkind = \"simulated\"\nid = \"x\"\n[storage]\ncommit_window = \"soon\"\n".write(to: configFile, atomically: true, encoding: .utf8)
        let result = try await ChildProcess.run(product: "lampd", ["--config", configFile.path])
        let stderr = result.stderr
        #expect(result.exitCode == 2)
        #expect(stderr.contains("lampd.toml:5:17: storage.commit_window: \"soon\" is not a duration"), "\(stderr)")
    }

    /// `systemctl start lampd && lampctl status` must work: the control socket answers the instant
    /// READY=1 arrives.
    /// (lampd sends READY only once its control socket listens: `StartupGate`.)
    @Test func theControlSocketAnswersTheInstantReadyArrives() async throws {
        let pole = try Pole()
        defer { pole.remove() }
        let (directory, state, configFile) = (pole.directory, pole.state, pole.configFile)
        let socket = state.appendingPathComponent("control.sock").path
        try await withLampd(arguments: ["--config", configFile.path], socket: socket, directory: directory) { daemon in
            let answer: [String: Any]?
            do {
                answer = try await daemon.control.request("ping")
            } catch {
                answer = nil
                Issue.record("READY=1 came, but the control socket did not answer: \(error)\n\(daemon.output)")
            }
            #expect(answer?["ok"] as? Bool == true, "\(answer ?? [:])")
        }
    }
}
