import ControlProtocol
@testable import Agent
@testable import LampdConfig
import Foundation
import Hardware
import Logging
import Synchronization
import Telemetry
import Testing
import Clocks

/// Issue 11, defect 5 and the readiness flaw: the lamp is commanded before the spool opens, a spool
/// that cannot be opened is an alarm (an emergency spool keeps the records), and READY waits for
/// what a technician needs.
@Suite("Light first at start-up")
struct LightFirstTests {
    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("light-first-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("The start-up gate opens when the last condition arrives, and a cancelled wait ends")
    func startupGate() async throws {
        let gate = StartupGate(conditions: ["control socket", "other"])
        let waiter = Task { await gate.opened() }
        gate.arrive("control socket")
        #expect(gate.pending == ["other"])
        gate.arrive("other")
        #expect(await waiter.value)
        #expect(await StartupGate(conditions: []).opened())

        let never = StartupGate(conditions: ["never"])
        let cancelled = Task { await never.opened() }
        cancelled.cancel()
        #expect(await cancelled.value == false)
    }

    @Test("Records made before the spool opens wait in the sink and are stored in order")
    func sinkBeforeSpool() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sink = SpoolSink(logger: silentLogger, maximumWaiting: 3)
        let time = SystemTimeSource()
        for kind in ["first", "second", "third", "fourth"] {
            sink.record(Event(kind: kind, severity: .info, time: time.now(), message: kind))
        }
        #expect(sink.refusedRecords == 1)
        let spool = try await Spool.open(SpoolConfiguration(path: directory + "/spool.sqlite", commitWindow: .milliseconds(5)))
        sink.attach(spool)
        sink.record(Event(kind: "after", severity: .info, time: time.now(), message: "after"))
        let loop = Task { await spool.run() }
        await spool.flush()
        let kinds = try await spool.oldestPending(limit: 10).compactMap { record -> String? in
            if case .event(let event) = record.record { event.kind } else { nil }
        }
        loop.cancel()
        await loop.value
        try spool.close()
        #expect(kinds == ["first", "second", "third", "after"])
    }

    @Test("A spool that cannot be opened gives an emergency spool and a spool.unavailable alarm; none at all is an error")
    func emergencySpool() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(mkfifo(directory + "/spool.sqlite", 0o600) == 0)
        let emergency = directory + "/run"
        try FileManager.default.createDirectory(atPath: emergency, withIntermediateDirectories: false)
        let configuration = SpoolConfiguration(path: directory + "/spool.sqlite")
        let opened = try await SpoolOpening.open(configuration, emergencyDirectories: ["/dev/null", emergency],
                                                 timeSource: SystemTimeSource(), logger: silentLogger)
        #expect(opened.spool.configuration.path.hasPrefix(emergency + "/lampd-emergency-spool-"))
        #expect(opened.spool.configuration.maxSizeBytes == 8 * 1_048_576)
        let problem = try #require(opened.problem)
        #expect(problem.kind == "spool.unavailable" && problem.severity == .alarm)
        #expect(problem.message.contains("named pipe") && problem.message.contains(opened.spool.configuration.path))
        try opened.spool.close()

        await #expect(throws: AgentError.self) {
            try await SpoolOpening.open(configuration, emergencyDirectories: ["/dev/null"], timeSource: SystemTimeSource(), logger: silentLogger)
        }
    }

    @Test("lampd on /dev/null as its state directory: the lamp is commanded, the agent runs on the emergency spool and says why")
    func stateDirectoryIsDevNull() async throws {
        var configuration = try LampdConfiguration.parse(LampdConfiguration.builtInSimulated, file: "(built-in)")
        configuration.storage.directory = "/dev/null"
        let board = await SimulatedBoard()
        let agent = try await LampdAgent.build(
            configuration: configuration, board: board, control: ControlServerConfiguration(socketPath: "/dev/null/control.sock"),
            makeTransport: { _ in throw AgentError("no uplink in this test") }, logger: silentLogger)
        defer {
            try? agent.spool.close()
            try? FileManager.default.removeItem(atPath: agent.spool.configuration.path)
            for suffix in ["-wal", "-shm", ".marker"] { try? FileManager.default.removeItem(atPath: agent.spool.configuration.path + suffix) }
        }
        // Commanded before anything else ran: the snapshot exists and the relay is on (fail-safe).
        let snapshot = try #require(await agent.lighting?.explain())
        #expect(snapshot.targetLevelPercent == 100)
        #expect(try board.gpio.level(.name("LAMP_RELAY")))
        #expect(agent.spool.configuration.path.contains("lampd-emergency-spool-"))
        let loop = Task { await agent.spool.run() }
        await agent.spool.flush()
        let kinds = try await agent.spool.oldestPending(limit: 50).compactMap { record -> String? in
            if case .event(let event) = record.record { event.kind } else { nil }
        }
        loop.cancel()
        await loop.value
        #expect(kinds.first == "agent.started")
        #expect(kinds.contains("storage.unavailable") && kinds.contains("spool.unavailable"))
        #expect(kinds.contains("lamp.level"))
    }
}

/// Issue 11, defect 8 (the lampd side): a PWM channel lampd may not write (`/sys` read-only under
/// the unit's sandbox) must not stop lampd; the relay alone keeps the street lit.
@Suite("Lamp output without its PWM channel")
struct LampOutputFallbackTests {
    struct Refused: Error, CustomStringConvertible {
        var description: String { "open /sys/class/pwm/pwmchip0/export: Read-only file system" }
    }

    @Test("A PWM channel that cannot be opened leaves a relay-only output that still switches the lamp, and says why")
    func relayOnlyWhenPWMFails() async throws {
        let board = await SimulatedBoard()
        let relay = try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: false)
        let pwm = LightingConfiguration.PWM(chip: 0, channel: 0, periodNanoseconds: 1_000_000, minimumLevelPercent: 10, inverted: false)
        let (output, problem) = await LampOutputs.dimmedOrRelayOnly(relay: relay, pwm: pwm) { throw Refused() }
        #expect(problem?.contains("Read-only file system") == true)
        #expect(problem?.contains("relay only") == true)
        try await output.setLevel(percent: 40)
        #expect(try board.gpio.level(.name(SimulatedBoard.relayLine)))
        try await output.setLevel(percent: 0)
        #expect(try board.gpio.level(.name(SimulatedBoard.relayLine)) == false)

        let (dimmed, none) = await LampOutputs.dimmedOrRelayOnly(relay: relay, pwm: pwm) { board.lampPWM }
        #expect(none == nil)
        #expect(dimmed is DimmedRelayLampOutput)
    }
}

/// Issue 11, defect 10: `spool.full` and `spool.corrupt` existed only inside the spool; `lampctl
/// status` said HEALTHY with exit 0 after records were dropped or a corrupt spool was moved aside.
@Suite("The spool's own alarms outside the spool")
struct SpoolAlarmsVisibleTests {
    func status(spool: Spool, recent: RecentTelemetry, health: StorageHealth) async throws -> JSONValue {
        var context = AgentControlContext(version: "1", deviceID: "pole", boardKind: "simulated", spool: spool, telemetry: recent,
                                          timeSource: SystemTimeSource())
        context.storageProblems = { health.summary() }
        let handler = try #require(ControlCommandRegistry.agentCommands(context).handler(for: "status"))
        let caller = ControlCaller(credentials: PeerCredentials(uid: 0, gid: 0, pid: 1), userName: "root", claimed: nil)
        return try await handler.handle(ControlCall(arguments: .object([:]), caller: caller))
    }

    @Test("A corrupt spool moved aside: spool.corrupt in events, status unhealthy")
    func corruptSpool() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("visible-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(repeating: 0x42, count: 10_000).write(to: URL(fileURLWithPath: directory + "/spool.sqlite"))
        let spool = try await Spool.open(SpoolConfiguration(path: directory + "/spool.sqlite"))
        defer { try? spool.close() }
        let recent = RecentTelemetry(forwardingTo: RecordingSink())
        let health = StorageHealth()
        LampdAgent.watchOwnEvents(of: spool, health: health, recent: recent)

        #expect(recent.events().map(\.event.kind) == ["spool.corrupt"])
        let status = try await status(spool: spool, recent: recent, health: health)
        #expect(status["healthy"] == .bool(false))
        #expect(status["problems"]?.arrayValue?.contains { $0.stringValue?.hasPrefix("spool.corrupt: spool file was corrupt") == true } == true)
    }

    @Test("Records dropped by a full spool: spool.full in events, status unhealthy")
    func fullSpool() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("visible-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try await Spool.open(SpoolConfiguration(path: directory + "/spool.sqlite", maxSizeMegabytes: 0.25,
                                                            commitWindow: .milliseconds(5)))
        let recent = RecentTelemetry(forwardingTo: RecordingSink())
        let health = StorageHealth()
        LampdAgent.watchOwnEvents(of: spool, health: health, recent: recent)
        let loop = Task { await spool.run() }
        let time = SystemTimeSource()
        // Packed readings take about 10 bytes: 100 000 overflow the 256 KiB bound.
        for i in 0..<100_000 {
            try spool.enqueue(Reading(channel: ChannelName(rawValue: "meter.power")!, value: .number(Double(i)), unit: .watt, time: time.now()))
        }
        await spool.flush()
        #expect(recent.events().contains { $0.event.kind == "spool.full" })
        let status = try await status(spool: spool, recent: recent, health: health)
        #expect(status["healthy"] == .bool(false))
        #expect(status["problems"]?.arrayValue?.contains { $0.stringValue?.hasPrefix("spool.full: spool full: dropped") == true } == true)
        loop.cancel()
        await loop.value
        try spool.close()
    }
}
