import Foundation
import Testing

/// A real `lampd --simulate` on a temporary socket and state directory, for
/// the lampctl commands that ask the daemon.
final class SimulatedDaemon: @unchecked Sendable {
    // @unchecked Sendable: the Process is started in init and only signalled afterwards.
    let directory: URL
    let socket: String
    let process = Process()
    /// The configuration file lampd was started with.
    var configurationFile: String { directory.appendingPathComponent("lampd.toml").path }
    /// lampd's state directory.
    var stateDirectory: String { directory.appendingPathComponent("state").path }

    /// - Parameters:
    ///   - arguments: more lampd arguments, e.g. `--simulate-fault meter-silent`.
    ///   - configuration: more TOML sections for lampd.toml.
    init(arguments: [String] = [], configuration extra: String = "") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lampctl-daemon-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socket = directory.appendingPathComponent("control.sock").path
        let config = directory.appendingPathComponent("lampd.toml")
        try """
            [board]
            kind = "simulated"
            id = "test-pole"
            [storage]
            directory = "\(directory.appendingPathComponent("state").path)"
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
            \(extra)
            """.write(to: config, atomically: true, encoding: .utf8)
        process.executableURL = ProductProcess.productsDirectory.appendingPathComponent("lampd")
        process.arguments = ["--simulate", "--config", config.path, "--socket", socket] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Waits until lampd answers and has sampled the meter once.
    func waitUntilSampled() async throws {
        try await waitForStatus("lampd did not answer with meter readings within 20 s") { $0.stdout.contains("meter.voltage") }
    }

    /// Waits until lampd answers `lampctl status`.
    func waitUntilAnswering() async throws {
        try await waitForStatus("lampd did not answer within 20 s") { _ in true }
    }

    /// Asks `lampctl status --json` every 200 ms until lampd answers and `ready` says so (at most 20 s).
    private func waitForStatus(_ failure: Comment, until ready: (ProductProcess.Result) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let status = try await ProductProcess.run("lampctl", ["status", "--json", "--socket", socket])
            if status.exitCode != 3, ready(status) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record(failure)
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("lampctl against a running lampd", .serialized)
struct DaemonCommandTests {
    @Test func statusSpoolAndEventsAnswerFromTheDaemon() async throws {
        let daemon = try SimulatedDaemon()
        defer { daemon.stop() }
        try await daemon.waitUntilSampled()

        // How fast it answers is measured in docs/performance.md (hyperfine), not timed here.
        let text = try await ProductProcess.run("lampctl", ["status", "--socket", daemon.socket])
        #expect(text.exitCode == 0 || text.exitCode == 1, "\(text.stderr)")
        #expect(text.stdout.contains("test-pole  lampd 0.1.0 (simulated board)"), "\(text.stdout)")
        #expect(text.stdout.contains("meter.voltage"))
        #expect(text.stdout.contains("cabinet.door"))
        #expect(text.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(text.stdout)")

        let json = try await ProductProcess.run("lampctl", ["status", "--json", "--socket", daemon.socket])
        let status = try #require(try json.jsonObject())
        #expect(status["device"] as? String == "test-pole")
        #expect(status["board"] as? String == "simulated")
        let healthy = try #require(status["healthy"] as? Bool)
        #expect(json.exitCode == (healthy ? 0 : 1), "exit code follows health: \(status["problems"] ?? "")")
        let spool = try #require(status["spool"] as? [String: Any])
        #expect((spool["pendingReadings"] as? Int ?? 0) > 0)

        let stats = try await ProductProcess.run("lampctl", ["spool", "stats", "--socket", daemon.socket])
        #expect(stats.exitCode == 0)
        #expect(stats.stdout.contains("pending readings"))
        let statsJSON = try await ProductProcess.run("lampctl", ["spool", "stats", "--json", "--socket", daemon.socket])
        #expect(try statsJSON.jsonObject()?["highestSequence"] as? Int ?? 0 > 0)

        let events = try await ProductProcess.run("lampctl", ["events", "--socket", daemon.socket])
        #expect(events.exitCode == 0)
        #expect(events.stdout.contains("agent.started"), "\(events.stdout)")
        let recent = try await ProductProcess.run("lampctl", ["events", "--since", "10m", "--json", "--socket", daemon.socket])
        #expect(recent.stdout.contains(#""kind":"agent.started""#), "\(recent.stdout)")

        let senML = try await ProductProcess.run("lampctl", ["spool", "export", "--socket", daemon.socket])
        #expect(senML.exitCode == 0, "\(senML.stderr)")
        let records = try #require(try JSONSerialization.jsonObject(with: Data(senML.stdout.utf8)) as? [[String: Any]])
        #expect(records.first?["bn"] as? String == "test-pole:")
        #expect(records.contains { $0["n"] as? String == "meter.voltage" && $0["u"] as? String == "V" && $0["v"] is Double })
        let csv = try await ProductProcess.run("lampctl", ["spool", "export", "--format", "csv", "--since", "1", "--socket", daemon.socket])
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.first == "sequence,time_utc,type,name,value,unit,quality,severity,message")
        #expect(lines.dropFirst().first?.hasPrefix("2,") == true, "\(csv.stdout.prefix(300))")
    }

    @Test func lampExplainSetAndClear() async throws {
        let daemon = try SimulatedDaemon()
        defer { daemon.stop() }
        try await daemon.waitUntilSampled()

        let explain = try await ProductProcess.run("lampctl", ["lamp", "explain", "--socket", daemon.socket])
        #expect(explain.exitCode == 0, "\(explain.stderr)")
        #expect(explain.stdout.contains("decided by:"), "\(explain.stdout)")
        #expect(explain.stdout.contains("why: "))
        #expect(explain.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(explain.stdout)")
        let json = try #require(try await ProductProcess.run("lampctl", ["lamp", "explain", "--json", "--socket", daemon.socket]).jsonObject())
        let level = try #require(json["levelPercent"] as? Double)
        #expect((0...100).contains(level))

        let set = try await ProductProcess.run("lampctl", ["lamp", "set", "30", "--for", "10m", "--reason", "test", "--socket", daemon.socket])
        #expect(set.exitCode == 0, "\(set.stderr)")
        #expect(set.stdout.contains("lamp overridden to 30 %"), "\(set.stdout)")
        let after = try #require(try await ProductProcess.run("lampctl", ["lamp", "explain", "--json", "--socket", daemon.socket]).jsonObject())
        #expect(after["source"] as? String == "override")
        #expect(after["targetLevelPercent"] as? Double == 30)
        let cleared = try await ProductProcess.run("lampctl", ["lamp", "clear", "--socket", daemon.socket])
        #expect(cleared.stdout.contains("override removed"), "\(cleared.stdout)")
        // Every changing command is audited.
        let events = try await ProductProcess.run("lampctl", ["events", "--json", "--socket", daemon.socket])
        #expect(events.stdout.contains("audit.lamp.set"), "\(events.stdout.suffix(600))")

        let bad = try await ProductProcess.run("lampctl", ["lamp", "set", "130", "--socket", daemon.socket])
        #expect(bad.exitCode == 2)
    }

    @Test func eventsFollowKeepsPrintingUntilStopped() async throws {
        let daemon = try SimulatedDaemon()
        defer { daemon.stop() }
        try await daemon.waitUntilSampled()
        // Run it the way a technician does and end it with Ctrl-C (SIGINT).
        // (Not ProductProcess.run: its blocking pipe reads assume a child that exits by itself.)
        let process = Process()
        process.executableURL = ProductProcess.productsDirectory.appendingPathComponent("lampctl")
        process.arguments = ["events", "--follow", "--json", "--socket", daemon.socket]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        let output = OutputBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try process.run()
        try await Task.sleep(for: .milliseconds(2500))
        #expect(process.isRunning, "still following after 2.5 s")
        kill(process.processIdentifier, SIGINT)
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning, "Ctrl-C ends --follow")
        let first = try #require(output.text.split(separator: "\n").first)
        let event = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        #expect(event["kind"] as? String == "agent.started" && event["serial"] as? Int == 1)
    }

    @Test func aMissingDaemonExitsWith3AndSaysWhatToCheck() async throws {
        let text = try await ProductProcess.run("lampctl", ["status", "--socket", "/nonexistent/control.sock"])
        #expect(text.exitCode == 3)
        #expect(text.stderr.contains("lampd is not running or its socket /nonexistent/control.sock is missing — check `systemctl status lampd`"), "\(text.stderr)")
        let json = try await ProductProcess.run("lampctl", ["spool", "stats", "--json", "--socket", "/nonexistent/control.sock"])
        #expect(json.exitCode == 3)
        let error = try #require(try json.jsonObject()?["error"] as? [String: Any])
        #expect(error["code"] as? String == "daemon-unreachable")
    }

    @Test func aBadSinceIsAUsageError() async throws {
        let result = try await ProductProcess.run("lampctl", ["events", "--since", "yesterday", "--socket", "/nonexistent"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("--since must be an event number or an age"))
    }
}

/// Collects a child's output from its readability handler.
final class OutputBuffer: @unchecked Sendable {
    // @unchecked Sendable: `data` is only touched under `lock`.
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
