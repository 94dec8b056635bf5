import ControlProtocol
import Foundation
@testable import LampdConfig
import Logging
import Synchronization
import Telemetry
import Testing
import TestSupport
@testable import Agent

/// A control server in-process on a temporary socket, with a real spool.
final class ControlTestBed: Sendable {
    let directory: URL
    let socketPath: String
    let spool: Spool
    let recorder = RecordingSink()
    let telemetry: RecentTelemetry
    let server: ControlServer
    let time = TestTimeSource()
    /// The spool's group-commit loop (`append` waits for it).
    let loop: Task<Void, Never>

    /// `identify` replaces SO_PEERCRED, to play users this test process is not.
    init(
        maximumConnections: Int = 16, reservedConnections: Int = 2, idleTimeout: Duration = .seconds(30),
        requestDeadline: Duration = .seconds(10), commandTimeLimit: Duration = .seconds(10),
        directory userDirectory: any UserDirectory = SystemUserDirectory(),
        policy: ControlPolicy = ControlPolicy(),
        extra: [any ControlHandler] = [],
        logger: Logger = silentLogger,
        identify: @escaping @Sendable (Int32) throws -> PeerCredentials = { try PeerCredentials.of(socket: $0) }
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-ctl-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socketPath = directory.appendingPathComponent("c.sock").path
        spool = try await Spool.open(SpoolConfiguration(path: directory.appendingPathComponent("spool.sqlite").path), timeSource: time)
        let spool = self.spool
        loop = Task { await spool.run() }
        telemetry = RecentTelemetry(forwardingTo: recorder, eventCapacity: 5)
        var commands = ControlCommandRegistry.agentCommands(AgentControlContext(
            version: "9.9.9", deviceID: "pole-0421", boardKind: "simulated", spool: spool, telemetry: telemetry,
            timeSource: time))
        for handler in extra { commands.register(handler) }
        server = ControlServer(
            configuration: ControlServerConfiguration(
                socketPath: socketPath, maximumConnections: maximumConnections, reservedConnections: reservedConnections,
                idleTimeout: idleTimeout, requestDeadline: requestDeadline, commandTimeLimit: commandTimeLimit, policy: policy),
            commands: commands,
            audit: ControlAuditTrail(sink: telemetry, timeSource: time, logger: logger),
            directory: userDirectory, logger: logger, identify: identify)
    }

    func start() throws { try server.start() }

    func finish() {
        server.stop()
        loop.cancel()  // the spool closes when released
        try? FileManager.default.removeItem(at: directory)
    }

    func reading(_ channel: String, _ value: ReadingValue, unit: SenMLUnit = .none) -> Reading {
        Reading(channel: ChannelName(rawValue: channel)!, value: value, unit: unit, time: time.now())
    }

    /// Records readings through the tee and commits them to the spool.
    func sample() async throws {
        for reading in [reading("meter.voltage", .number(231.5), unit: .volt), reading("cabinet.door", .boolean(false))] {
            telemetry.record(reading)
            try spool.enqueue(reading)
        }
        let event = Event(kind: "cabinet.mains.lost", severity: .alarm, channel: ChannelName(rawValue: "cabinet.mains"), value: .boolean(false), time: time.now(), message: "mains lost")
        telemetry.record(event)
        try spool.enqueue(event)
        _ = await spool.flush()
    }

    func connect() async throws -> ControlConnection {
        let path = socketPath
        return try await ControlConnection.perform { try ControlConnection(path: path, timeout: .seconds(5)) }
    }
}

extension ControlConnection {
    /// `send` on a thread of its own.
    func call(_ command: String, _ arguments: JSONValue? = nil, version: Int = ControlProtocol.version) async throws -> ControlResponse {
        try await ControlConnection.perform { try self.send(command, arguments: arguments, version: version) }
    }

    func raw(_ line: String) async throws -> ControlResponse {
        let data = try await ControlConnection.perform { try self.exchange(line: Data(line.utf8)) }
        return try JSONDecoder().decode(ControlResponse.self, from: data)
    }
}

@Suite("Control server")
struct ControlServerTests {
    @Test func eachCommandAnswers() async throws {
        let bed = try await ControlTestBed()
        defer { bed.finish() }
        try bed.start()
        try await bed.sample()
        let connection = try await bed.connect()

        let ping = try await connection.call("ping")
        #expect(ping.ok && ping.result?["pong"] == .bool(true) && ping.result?["version"] == .string("9.9.9"))
        #expect(ping.id == .number(1))

        let status = try #require(try await connection.call("status").result)
        #expect(status["device"] == .string("pole-0421"))
        #expect(status["board"] == .string("simulated"))
        #expect(status["clockSynchronised"] == .bool(true))
        #expect(status["spool"]?["pendingReadings"] == .number(2))
        #expect(status["spool"]?["pendingAlarms"] == .number(1))
        let channels = status["readings"]?.arrayValue?.compactMap { $0["channel"]?.stringValue }
        #expect(channels == ["cabinet.door", "meter.voltage"])
        #expect(status["readings"]?.arrayValue?.last?["unit"] == .string("V"))
        #expect(status["activeAlarms"]?.arrayValue?.first?["kind"] == .string("cabinet.mains.lost"))
        #expect(status["healthy"] == .bool(false))
        #expect(status["problems"]?.arrayValue?.first?.stringValue == "alarm: mains lost")

        let stats = try #require(try await connection.call("spool.stats").result)
        #expect(stats["pendingReadings"] == .number(2) && stats["highestSequence"] == .number(3))
        #expect(stats["droppedReadings"] == .number(0))

        let events = try #require(try await connection.call("events").result)
        #expect(events["events"]?.arrayValue?.count == 1 && events["last"] == .number(1))
        let none = try #require(try await connection.call("events", .object(["since": .number(1)])).result)
        #expect(none["events"]?.arrayValue?.isEmpty == true)

        let senML = try #require(try await connection.call("spool.export", .object(["limit": .number(2)])).result)
        #expect(senML["more"] == .bool(true) && senML["last"] == .number(2))
        let records = try #require(senML["records"]?.arrayValue)
        #expect(records[0]["bn"] == .string("urn:dev:lampd:pole-0421:"))
        #expect(records[0]["n"] == .string("meter.voltage") && records[0]["v"] == .number(231.5) && records[0]["u"] == .string("V"))
        #expect(records[1]["vb"] == .bool(false))
        let rest = try #require(try await connection.call("spool.export", .object(["since": .number(2), "format": .string("csv")])).result)
        #expect(rest["more"] == .bool(false) && rest["count"] == .number(1))
        #expect(rest["header"]?.stringValue?.hasPrefix("sequence,time_utc,type,name,value") == true)
        #expect(rest["rows"]?.stringValue?.hasPrefix("3,") == true)
        #expect(rest["rows"]?.stringValue?.contains(",event,cabinet.mains.lost,false,,,alarm,mains lost\n") == true)
    }

    @Test func spoolExportFiltersByTimeAndKeepsPagingBySequence() async throws {
        let bed = try await ControlTestBed()
        defer { bed.finish() }
        try bed.start()
        try await bed.sample()
        let connection = try await bed.connect()
        // The typed request, as lampctl sends it: a time in the future keeps nothing, one in the past everything.
        let future = try #require(try await ControlConnection.perform {
            try connection.send(SpoolExportRequest(sinceTime: "2099-01-01T00:00:00Z", limit: 2))
        }.result?.decode(SpoolExportResult.self))
        #expect(future.count == 0 && future.records == [] && future.more && future.last == 2, "paging by sequence goes on")
        let past = try #require(try await connection.call("spool.export", .object(["sinceTime": .string("2020-01-01T00:00:00Z")])).result)
        #expect(past["count"] == .number(3))
        let recent = try #require(try await connection.call("spool.export", .object(["sinceSeconds": .number(3600)])).result)
        #expect(recent["count"] == .number(3))
        let bad = try await connection.call("spool.export", .object(["sinceTime": .string("yesterday")]))
        #expect(bad.error?.code == "bad-arguments" && bad.error?.message.contains("2026-12-06T03:00:00Z") == true, "\(String(describing: bad.error))")
    }

    @Test func theEventRingKeepsTheNewestAndAnswersSince() async throws {
        let bed = try await ControlTestBed()
        defer { bed.finish() }
        for i in 1...8 {
            bed.telemetry.record(Event(kind: "test.tick", severity: .info, time: bed.time.now(), message: "tick \(i)"))
        }
        #expect(bed.telemetry.events().map(\.serial) == [4, 5, 6, 7, 8])
        #expect(bed.telemetry.events(afterSerial: 6).map(\.event.message) == ["tick 7", "tick 8"])
        #expect(bed.recorder.events.count == 8, "every event still goes on to the spool")
    }

    @Test func badRequestsGetClearErrorsAndTheConnectionStaysUsable() async throws {
        let bed = try await ControlTestBed()
        defer { bed.finish() }
        try bed.start()
        let connection = try await bed.connect()

        let notJSON = try await connection.raw("status please")
        #expect(notJSON.error?.code == "malformed-request")
        #expect(notJSON.error?.message.contains("one JSON object per line") == true)
        let array = try await connection.raw("[1,2]")
        #expect(array.error?.code == "malformed-request")
        let noCommand = try await connection.raw(#"{"v":1,"id":"a"}"#)
        #expect(noCommand.error?.code == "malformed-request" && noCommand.id == .string("a"))
        let future = try await connection.call("status", version: 2)
        #expect(future.error?.code == "unsupported-version")
        #expect(future.error?.message.contains("this lampd speaks version 1") == true)
        let unknown = try await connection.call("lamp.dance")
        #expect(unknown.error?.code == "unknown-command")
        #expect(unknown.error?.message.contains("ping, spool.export, spool.stats, status") == true)
        let badFormat = try await connection.call("spool.export", .object(["format": .string("xml")]))
        #expect(badFormat.error?.code == "bad-arguments")
        let badType = try await connection.call("events", .object(["since": .string("yesterday")]))
        #expect(badType.error?.code == "bad-arguments" && badType.error?.message.contains("\"since\"") == true)
        #expect(try await connection.call("ping").ok)
    }

    @Test func anOversizedRequestIsRefusedAndTheServerKeepsServing() async throws {
        let bed = try await ControlTestBed()
        defer { bed.finish() }
        try bed.start()
        let connection = try await bed.connect()
        let huge = #"{"v":1,"command":"ping","arguments":{"x":""# + String(repeating: "a", count: 70 * 1024) + #""}}"#
        let answer = try await connection.raw(huge)
        #expect(answer.error?.code == "request-too-large")
        await #expect(throws: ControlSocketError.self) { try await connection.call("ping") }
        #expect(try await bed.connect().call("ping").ok)
    }

    @Test func hostileBytesGetAnErrorNotACrash() async throws {
        let bed = try await ControlTestBed()
        defer { bed.finish() }
        try bed.start()
        let connection = try await bed.connect()
        let deep = try await connection.raw(String(repeating: "[", count: 60_000))
        #expect(deep.error?.code == "malformed-request")
        let binary = try await ControlConnection.perform { try connection.exchange(line: Data([0xff, 0xfe, 0x00, 0x7b, 0xc3])) }
        #expect(try JSONDecoder().decode(ControlResponse.self, from: binary).error?.code == "malformed-request")
        let huge = try await connection.raw(#"{"v":1e400,"command":"ping"}"#)
        #expect(huge.error != nil)
        #expect(try await connection.call("ping").ok)
    }

    @Test func thirtyTwoConcurrentClientsAreAllAnswered() async throws {
        let bed = try await ControlTestBed()
        defer { bed.finish() }
        try bed.start()
        let codes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<32 {
                group.addTask {
                    let connection = try await bed.connect()
                    let answer = try await connection.call("status")
                    return answer.ok ? "ok" : answer.error?.code ?? "?"
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(codes.count == 32)
        #expect(codes.allSatisfy { $0 == "ok" || $0 == "busy" }, "\(codes)")
        #expect(codes.filter { $0 == "ok" }.count >= 16)
        #expect(try await bed.connect().call("ping").ok)
    }

    @Test func oneClientMoreThanTheCapIsToldBusy() async throws {
        let bed = try await ControlTestBed(maximumConnections: 4)
        defer { bed.finish() }
        try bed.start()
        var held: [ControlConnection] = []
        for _ in 0..<4 {
            let connection = try await bed.connect()
            #expect(try await connection.call("ping").ok)  // admitted and served
            held.append(connection)
        }
        let extra = try await bed.connect()
        let answer = try await extra.call("ping").error
        #expect(answer?.code == "busy")
        held.removeAll()
        // The server frees the places when it sees the connections close: wait for that (an
        // event), not for a time that a loaded machine may exceed.
        var admitted = false
        let deadline = ContinuousClock.now + HangGuard.duration
        while !admitted, ContinuousClock.now < deadline {
            admitted = (try? await bed.connect().call("ping").ok) ?? false
            if !admitted { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(admitted, "a place was not freed after the held connections closed")
    }

    @Test func anIdleClientIsDisconnected() async throws {
        let bed = try await ControlTestBed(idleTimeout: .milliseconds(300))
        defer { bed.finish() }
        try bed.start()
        let connection = try await bed.connect()
        try await Task.sleep(for: .seconds(1))
        await #expect(throws: ControlSocketError.self) { try await connection.call("ping") }
    }

    @Test func theSocketIsCreated0660ReplacesAStaleOneAndIsRemovedAtStop() async throws {
        let bed = try await ControlTestBed()
        defer { bed.finish() }
        // A stale socket file: bound, then its owner went away.
        let stale = try UnixSocket.listen(at: bed.socketPath, mode: 0o600, group: nil)
        close(stale)
        #expect(FileManager.default.fileExists(atPath: bed.socketPath))
        try bed.start()
        var status = stat()
        #expect(lstat(bed.socketPath, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o660)
        #expect(try await bed.connect().call("ping").ok)

        // A second server on the same path refuses to take it over.
        #expect(throws: ControlSocketError.self) {
            _ = try UnixSocket.listen(at: bed.socketPath, mode: 0o660, group: nil)
        }
        bed.server.stop()
        #expect(!FileManager.default.fileExists(atPath: bed.socketPath))
    }

    @Test func peerCredentialsAreTheCallersOwn() throws {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        let credentials = try PeerCredentials.of(socket: pair[0])
        #expect(credentials == PeerCredentials(uid: getuid(), gid: getgid(), pid: getpid()))
    }
}
