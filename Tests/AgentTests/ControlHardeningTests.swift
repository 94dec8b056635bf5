import ControlProtocol
import Foundation
import Logging
import Synchronization
import Telemetry
import Testing
@testable import Agent

/// Collects what is logged, to check that nothing a client sent reaches a log line unescaped.
final class CapturedLog: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            // As swift-log's StreamLogHandler prints it: the message, then key=value pairs.
            let pairs = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            log.lines.withLock { $0.append("\(event.level) \(event.message) \(pairs)") }
        }
    }
}

@Suite("Control hardening (issue 11)")
struct ControlHardeningTests {
    let directory = FakeUserDirectory()
    let policy = ControlPolicy(daemonUID: 998)
    let alice = PeerCredentials(uid: 1001, gid: 100, pid: 813)  // reads, may not operate

    // Defect 1: an age in seconds too large for nanoseconds trapped lampd.
    @Test(arguments: [1e300, -1e300, 9.3e9, -9.3e9, 107_000.0 * 86_400])
    func aHugeEventAgeIsABadArgumentNotACrash(_ seconds: Double) async throws {
        let bed = try await ControlTestBed()
        defer { bed.finish() }
        try bed.start()
        let connection = try await bed.connect()
        let answer = try await connection.call("events", .object(["sinceSeconds": .number(seconds)]))
        #expect(answer.error?.code == "bad-arguments")
        #expect(answer.error?.message.contains("sinceSeconds") == true)
        #expect(try await connection.call("ping").ok)
    }

    // Defect 9: refusals of a read-only user filled the spool.
    @Test func repeatedRefusalsAreAggregatedAndBounded() async throws {
        let bed = try await ControlTestBed(directory: directory, policy: policy, extra: [LampSetCommand(lighting: nil)])
        defer { bed.finish() }
        let name = String(repeating: "m", count: 60_000)
        let line = #"{"v":1,"id":1,"command":"lamp.set","arguments":{"level":0},"client":{"user":""# + name + #""}}"#
        for _ in 0..<320 {
            let answer = await bed.server.respond(to: Data(line.utf8), from: alice)
            #expect(answer.error?.code == "not-allowed")
        }
        let audits = bed.recorder.events.filter { $0.kind.hasPrefix("audit.") }
        #expect(audits.count == 1, "one full record for the first refusal, the rest counted")
        #expect(audits.map(\.message.utf8.count).reduce(0, +) < 1024)
        #expect(audits.first?.message.contains("claimed user mmmm") == true)

        // When the window closes, one summary counts the others.
        bed.time.advance(seconds: 301)
        bed.server.audit.closeExpiredWindows()
        let summaries = bed.recorder.events.filter { $0.kind == "audit.refused" }
        try #require(summaries.count == 1)
        #expect(summaries[0].message == "319 more refused calls by alice (uid 1001) within 5m: lamp.set ×319 (the first was recorded in full)")
        #expect(summaries[0].severity == .warning)
        // The next refusal opens a new window and is recorded in full again.
        _ = await bed.server.respond(to: Data(line.utf8), from: alice)
        #expect(bed.recorder.events.filter { $0.kind == "audit.lamp.set" }.count == 2)
    }

    @Test func refusalWindowsAreKeptPerPeerAndBounded() {
        var windows = RefusalWindows(windowNanoseconds: 1000, maximumPeers: 3)
        var inFull: [Bool] = []
        for (uid, caller, command, at) in [(UInt32(1), "a", "lamp.set", Int64(0)), (1, "a", "lamp.clear", 10), (2, "b", "lamp.set", 20),
                                           (3, "c", "lamp.set", 30), (4, "d", "lamp.set", 40)] {
            inFull.append(windows.refuse(uid: uid, caller: caller, command: command, at: at).recordInFull)
        }
        // uid 1 once in full, then counted; uid 2 in full; further peers share one window.
        #expect(inFull == [true, false, true, true, false])
        let early = windows.close(at: 999)
        #expect(early.isEmpty)
        let closed = windows.close(at: 1030)
        #expect(closed.map(\.caller) == ["a", "other users"])
        #expect(closed.first?.commands == ["lamp.clear": 1])
        let rest = windows.closeAll()
        #expect(rest.isEmpty, "uid 2 folded nothing")
        let again = windows.refuse(uid: 1, caller: "a", command: "lamp.set", at: 2000)
        #expect(again.recordInFull)
        // A clock gone wild does not trap.
        let wild = windows.close(at: .min)
        #expect(wild.isEmpty)
    }

    // Defect 14: a newline in the claimed user forged a log line.
    @Test func whatAClientClaimsReachesNoLogUnescaped() async throws {
        let log = CapturedLog()
        let bed = try await ControlTestBed(directory: directory, policy: policy, extra: [LampSetCommand(lighting: nil)], logger: log.logger)
        defer { bed.finish() }
        let forged = "mallory\n2026-01-01T00:00:00+0000 notice test : command=lamp.set uid=0 user=root result=ok \u{1b}[2K"
        let request = ControlRequest(id: .number(1), command: "lamp.set", arguments: .object(["level": .number(0)]),
                                     client: ClaimedOrigin(user: forged, ssh: "10.0.0.5\r\n22", tool: "lampctl\u{0}"))
        let line = try JSONEncoder().encode(request)
        _ = await bed.server.respond(to: line, from: alice)
        let lines = log.lines.withLock { $0 }
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(!line.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(line)")
        }
        #expect(lines.contains { $0.contains(#"mallory\n2026"#) }, "the label is kept, escaped: \(lines)")
        for event in bed.recorder.events {
            #expect(!event.message.unicodeScalars.contains { $0.properties.generalCategory == .control })
        }
    }

    @Test func aClaimedLabelIsEscapedCutAndStable() {
        #expect(ClientText.label("alice", maximumCharacters: 64) == "alice")
        #expect(ClientText.label("a\nb\u{1b}[2K\u{202e}c\u{0}", maximumCharacters: 64) == #"a\nb\u{1B}[2K\u{202E}c\u{0}"#)
        #expect(ClientText.label(String(repeating: "é", count: 100), maximumCharacters: 64) == String(repeating: "é", count: 64) + "…")
        for text in ["x\r\ny", String(repeating: "ab\n", count: 50), "ok \\n stays"] {
            let once = ClientText.label(text, maximumCharacters: 64)
            #expect(ClientText.label(once, maximumCharacters: 64) == once)
        }
        let caller = ControlCaller(credentials: alice, userName: "alice",
                                   claimed: ClaimedOrigin(user: String(repeating: "x", count: 70_000), ssh: "1.2.3.4\n5"))
        #expect(caller.claimed?.user?.count == ClaimedOrigin.maximumCharacters + 1)
        #expect(caller.claimed?.ssh == #"1.2.3.4\n5"#)
    }

    // Defect 17 (part): error answers carry "id": null when the id is unknown.
    @Test func errorAnswersWithoutAnIDSayNull() async throws {
        let bed = try await ControlTestBed(maximumConnections: 1)
        defer { bed.finish() }
        try bed.start()
        let held = try await bed.connect()
        #expect(try await held.call("ping").ok)
        let extra = try await bed.connect()
        let busy = try await ControlConnection.perform { try extra.exchange(line: Data(#"{"v":1,"id":5,"command":"ping"}"#.utf8)) }
        #expect(String(decoding: busy, as: UTF8.self).contains(#""id":null"#))
        let notJSON = try await ControlConnection.perform { try held.exchange(line: Data("hello".utf8)) }
        #expect(String(decoding: notJSON, as: UTF8.self).contains(#""id":null"#))
    }

    // Defect 15: a client dripping one byte at a time held its slot past the idle limit.
    @Test func aClientDrippingARequestIsClosedAtTheRequestDeadline() async throws {
        let bed = try await ControlTestBed(maximumConnections: 1, reservedConnections: 0, requestDeadline: .milliseconds(200))
        defer { bed.finish() }
        try bed.start()
        let path = bed.socketPath
        // Drips up to 40 s worth of bytes; returns what the server answered once it hung up.
        let answer = try await ControlConnection.perform { () -> String? in
            let fd = try UnixSocket.connect(to: path)
            defer { close(fd) }
            var received = Data()
            for _ in 0..<400 {
                guard UnixSocket.sendAll(fd, Data("a".utf8)) else { break }
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 100) > 0 else { continue }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = recv(fd, &chunk, chunk.count, 0)
                guard count > 0 else { return String(decoding: received, as: UTF8.self) }
                received.append(contentsOf: chunk[0..<count])
            }
            return received.isEmpty ? nil : String(decoding: received, as: UTF8.self)
        }
        let line = try #require(answer, "the server never hung up on a client dripping a request")
        let response = try JSONDecoder().decode(ControlResponse.self, from: Data(line.trimmingCharacters(in: .newlines).utf8))
        #expect(response.error?.code == "request-timeout")
        #expect(line.contains(#""id":null"#))
        // The one slot is free again.
        #expect(try await bed.connect().call("ping").ok)
    }

    /// Hands out made-up peers, one per accepted connection, in order (then root).
    final class Peers: Sendable {
        let queue: Mutex<[PeerCredentials]>
        init(_ peers: [PeerCredentials]) { queue = Mutex(peers) }
        func next(_ fd: Int32) -> PeerCredentials {
            queue.withLock { $0.isEmpty ? PeerCredentials(uid: 0, gid: 0, pid: 1) : $0.removeFirst() }
        }
    }

    // Defect 15: read-only clients holding every slot locked root out.
    @Test func aSlotIsKeptForRootWhenReadOnlyClientsHoldTheRest() async throws {
        let peers = Peers([alice, alice, alice, PeerCredentials(uid: 0, gid: 0, pid: 900)])
        let bed = try await ControlTestBed(maximumConnections: 3, reservedConnections: 1, directory: directory, policy: policy,
                                           identify: { peers.next($0) })
        defer { bed.finish() }
        try bed.start()
        var held: [ControlConnection] = []
        for _ in 0..<2 {
            let slow = try await bed.connect()
            #expect(try await slow.call("ping").ok, "alice may read")
            held.append(slow)
        }
        let third = try await bed.connect().call("ping")
        #expect(third.error?.code == "busy")
        #expect(third.error?.message.contains("kept for root and the operators group") == true)
        let root = try await bed.connect().call("status")
        #expect(root.ok, "root gets the reserved slot: \(String(describing: root.error))")
        withExtendedLifetime(held) {}
    }

    @Test func admissionKeepsTheReservedSlots() {
        var admission = ControlAdmission(maximum: 4, reserved: 2)
        var admitted: [Bool] = []
        for privileged in [false, false, false, true, true, true] { admitted.append(admission.admit(privileged: privileged)) }
        #expect(admitted == [true, true, false, true, true, false])
        admission.release(privileged: false)
        let again = admission.admit(privileged: false)
        #expect(again)
        // A reservation can never shut read-only users out completely.
        #expect(ControlAdmission(maximum: 1, reserved: 2).unprivilegedLimit == 1)
        #expect(ControlAdmission(maximum: 16, reserved: 2).unprivilegedLimit == 14)
    }

    // Defect 16: the server's 10 s cut `sync now --timeout 30` short.
    struct SlowCommand: ControlHandler {
        var command: String { "test.slow" }
        var permission: ControlPermission { .read }
        var summary: String { "waits as long as asked" }
        func timeLimit(for arguments: JSONValue) -> Duration? { .seconds(30) }
        func handle(_ call: ControlCall) async throws -> JSONValue {
            try await Task.sleep(for: .milliseconds(300))
            return .object(["done": .bool(true)])
        }
    }

    struct StuckCommand: ControlHandler {
        var command: String { "test.stuck" }
        var permission: ControlPermission { .read }
        var summary: String { "never answers in time" }
        func handle(_ call: ControlCall) async throws -> JSONValue {
            try await Task.sleep(for: .seconds(5))
            return .object([:])
        }
    }

    @Test func aCommandMayWaitLongerThanTheDefaultLimit() async throws {
        let bed = try await ControlTestBed(commandTimeLimit: .milliseconds(100), extra: [SlowCommand(), StuckCommand()])
        defer { bed.finish() }
        try bed.start()
        let connection = try await bed.connect()
        let slow = try await connection.call("test.slow")
        #expect(slow.ok, "\(String(describing: slow.error))")
        let stuck = try await connection.call("test.stuck")
        #expect(stuck.error?.code == "timeout" && stuck.id == .number(2), "the timeout answer echoes the id")
    }

    @Test func syncNowAsksForTheWaitTheClientAskedFor() async throws {
        let sync = SyncNowCommand(uplink: nil)
        #expect(sync.timeLimit(for: .object(["timeoutSeconds": .number(30)])) == .seconds(33))
        #expect(sync.timeLimit(for: .object(["timeoutSeconds": .number(600)])) == .seconds(603))
        #expect(sync.timeLimit(for: .object([:])) == .seconds(33))
        #expect(sync.timeLimit(for: .object(["timeoutSeconds": .number(1e300)])) == .seconds(33))
        let caller = ControlCaller(credentials: alice, userName: "alice", claimed: nil)
        for bad in [JSONValue.number(1e300), .number(-1), .number(0), .string("30")] {
            await #expect(throws: ControlError.self) {
                _ = try await sync.handle(ControlCall(arguments: .object(["timeoutSeconds": bad]), caller: caller))
            }
        }
    }
}

/// The checked conversions every control argument and lampctl option goes through.
@Suite("Checked numbers")
struct CheckedNumberTests {
    @Test func integersAndDurationsAreCheckedNotTrapped() {
        #expect(CheckedNumber.integer(42, in: 0...100) == 42)
        for bad in [-1, 101, 0.5, .nan, .infinity, -.infinity, 1e300, 9.3e18, -9.3e18] {
            #expect(CheckedNumber.integer(bad, in: 0...100) == nil)
        }
        #expect(CheckedNumber.integer(-9.223372036854775808e18, in: Int64.min...0) == .min)
        #expect(CheckedNumber.duration(seconds: 1.5, in: 0...10) == .milliseconds(1500))
        for bad in [-1, 11, .nan, .infinity, 1e300] {
            #expect(CheckedNumber.duration(seconds: bad, in: 0...10) == nil)
        }
        #expect(CheckedNumber.nanoseconds(seconds: 9.3e9, in: 0...1e300) == nil, "beyond Int64 nanoseconds")
        #expect(CheckedNumber.clampedInteger(.nan) == 0 && CheckedNumber.clampedInteger(1e300) == .max && CheckedNumber.clampedInteger(-1e300) == .min)
        #expect(CheckedNumber.difference(.min, 1) == .min && CheckedNumber.difference(.max, -1) == .max && CheckedNumber.difference(5, 7) == -2)
        #expect(CheckedNumber.text(-9.223372036854775808e18) == "-9.223372036854776e+18")
        #expect(CheckedNumber.text(1e300) == "1e+300" && CheckedNumber.text(42) == "42")
    }

    // Defect 1, lampctl's side: `--since 107000d` is a usage error, not a request that traps lampd.
    @Test func lampctlOptionsAreCheckedAgainstLampdsLimits() throws {
        #expect(try JSONValue(encoding: ControlCommandLine.eventsSince("42")) == .object(["since": .number(42)]))
        #expect(try JSONValue(encoding: ControlCommandLine.eventsSince("10m")) == .object(["sinceSeconds": .number(600)]))
        for bad in ["107000d", "1e300s", "-5m", "9007199254740993", "yesterday", "nan", "infd"] {
            #expect(throws: CommandLineValueError.self, "\(bad)") { try ControlCommandLine.eventsSince(bad) }
        }
        #expect {
            try ControlCommandLine.eventsSince("107000d")
        } throws: { error in
            (error as? CommandLineValueError)?.message == "--since must be an event number or an age such as 30s, 10m, 2h, 1d, at most 3650d; 107000d is not"
        }
        let forSeconds = { (text: String) throws -> Double in
            try ControlCommandLine.seconds(text, option: "--for", in: ControlArgumentLimits.overrideSeconds, example: "a duration such as 20m")
        }
        #expect(try forSeconds("20m") == 1200)
        #expect(throws: CommandLineValueError(message: "--for 8d: must be 1ms to 7d")) { try forSeconds("8d") }
        for bad in ["107000d", "8d", "0s", "1e300h", "soon"] {
            #expect(throws: CommandLineValueError.self, "\(bad)") { try forSeconds(bad) }
        }
    }
}
