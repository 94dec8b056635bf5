import Foundation
import Telemetry
import Testing

/// `lampd` run as a real process on the simulated board, stopped the way
/// systemd stops it.
@Suite("lampd process")
struct DaemonProcessTests {
    static var lampd: URL {
        let products = ProcessInfo.processInfo.environment["LAMPD_PRODUCTS_DIR"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return products.appendingPathComponent("lampd")
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-daemon-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func configuration(stateDirectory: URL) -> String {
        """
        [board]
        kind = "simulated"
        id = "test-pole"
        [storage]
        directory = "\(stateDirectory.path)"
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

    /// Reads the child's stdout line by line into a buffer the test can wait on.
    final class OutputCollector: @unchecked Sendable {
        // @unchecked Sendable: `text` is only touched under `lock`.
        private let lock = NSLock()
        private var text = ""
        func append(_ data: Data) { lock.withLock { text += String(decoding: data, as: UTF8.self) } }
        var output: String { lock.withLock { text } }

        func waitFor(_ needle: String, timeout: Duration = .seconds(20)) async throws -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if output.contains(needle) { return true }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
    }

    @Test func sigtermCommitsWhatWasSampledAndExitsCleanly() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("state")
        let configFile = directory.appendingPathComponent("lampd.toml")
        try configuration(stateDirectory: state).write(to: configFile, atomically: true, encoding: .utf8)

        let systemd = try FakeSystemdSocket()
        let process = Process()
        process.executableURL = Self.lampd
        process.arguments = ["--config", configFile.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["NOTIFY_SOCKET": systemd.path]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collector = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in collector.append(handle.availableData) }
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        #expect(try await collector.waitFor("lampd running"), "\(collector.output)")
        // The watchdog's keep-alives may come first; READY must come.
        var messages: [String] = []
        while let message = systemd.receive(timeoutMilliseconds: 2000) {
            messages.append(message)
            if message.hasPrefix("READY=1") { break }
        }
        #expect(messages.last?.hasPrefix("READY=1\nSTATUS=running on the simulated board") == true, "\(messages)")
        try await Task.sleep(for: .milliseconds(1500))  // a poll or two
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(!process.isRunning, "lampd did not stop within 20 s of SIGTERM")
        #expect(process.terminationStatus == 0, "\(collector.output)")
        #expect(collector.output.contains("spool flushed"))
        #expect(systemd.drain().contains("STOPPING=1"))

        let spool = try await Spool.open(SpoolConfiguration(path: state.appendingPathComponent("spool.sqlite").path))
        let records = try await spool.oldestPending(limit: 1000)
        let events = records.compactMap { record -> Event? in if case let .event(event) = record.record { return event } else { return nil } }
        let channels = Set(records.compactMap { record -> String? in if case let .reading(reading) = record.record { return reading.channel.rawValue } else { return nil } })
        #expect(events.first?.kind == "agent.started")
        #expect(channels.isSuperset(of: ["meter.voltage", "meter.energy", "cabinet.door", "cabinet.mains"]))
        try spool.close()
    }

    /// Starts lampd, waits until it runs, stops it with SIGTERM; returns its output.
    func runBriefly(config: URL) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = Self.lampd
        process.arguments = ["--config", config.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collector = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in collector.append(handle.availableData) }
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        _ = try await collector.waitFor("lampd running")
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(100))  // let the last output arrive
        return (process.isRunning ? -1 : process.terminationStatus, collector.output)
    }

    /// Light first: a broken edit of the configuration runs the last good one, with an alarm.
    @Test func aBrokenEditRunsOnTheLastGoodConfiguration() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("state")
        let configFile = directory.appendingPathComponent("lampd.toml")
        try configuration(stateDirectory: state).write(to: configFile, atomically: true, encoding: .utf8)
        let first = try await runBriefly(config: configFile)
        #expect(first.status == 0, "\(first.output)")
        #expect(FileManager.default.fileExists(atPath: state.appendingPathComponent("last-good.toml").path))

        // A technician's typo: the file no longer loads.
        let broken = configuration(stateDirectory: state).replacingOccurrences(of: "unit = 1", with: "unit = \"one\"")
        try broken.write(to: configFile, atomically: true, encoding: .utf8)
        let second = try await runBriefly(config: configFile)
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
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configFile = directory.appendingPathComponent("lampd.toml")
        try "[board]\nkind = \"simulated\"\nid = \"x\"\n[storage]\ncommit_window = \"soon\"\n".write(to: configFile, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = Self.lampd
        process.arguments = ["--config", configFile.path]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(stderr.contains("lampd.toml:5:17: storage.commit_window: \"soon\" is not a duration"), "\(stderr)")
    }
}
