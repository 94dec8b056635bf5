import ControlProtocol
import Foundation
import Logging
import Synchronization
import Telemetry
import Testing
import TestSupport
import Uplink
@testable import Agent
import Clocks

/// A receiver in memory that follows docs/uplink.md §4 and §6, and misbehaves on request.
final class ScriptedReceiver: BatchTransport {
    enum Fault: Sendable {
        case fail(String, retryAfter: Duration?)
        case storeThenLoseAck
        case reject(Int, String)
    }

    struct State {
        var faults: [Fault] = []
        var stored: [UInt64: SignedBatch] = [:]
        var order: [UInt64] = []
        var attempts: [(sequence: UInt64, bytes: [UInt8])] = []
        var records: [BatchRecord] = []
        var lastHash: [UInt8] = []
        /// Batches whose previous hash was not the last stored batch's (a gap).
        var gaps: [UInt64] = []
    }

    let publicKey: DevicePublicKey
    let state = Mutex(State())

    init(publicKey: DevicePublicKey) {
        self.publicKey = publicKey
    }

    func inject(_ faults: [Fault]) { state.withLock { $0.faults += faults } }

    func deliver(_ batch: SignedBatch, deviceID: String) async -> (outcome: DeliveryOutcome, wireBytes: Int) {
        let fault = state.withLock { s -> Fault? in
            s.attempts.append((batch.sequence, batch.bytes))
            return s.faults.isEmpty ? nil : s.faults.removeFirst()
        }
        switch fault {
        case .fail(let reason, let retryAfter)?: return (.retry(reason: reason, retryAfter: retryAfter), 100)
        case .reject(let status, let code)?: return (.rejected(status: status, code: code, message: "refused"), 100)
        case .storeThenLoseAck?, nil: break
        }
        guard let verified = try? BatchVerifier.verify(bytes: batch.bytes, publicKey: publicKey) else {
            return (.rejected(status: 403, code: "bad-signature", message: "does not verify"), 100)
        }
        let duplicate = state.withLock { s -> Bool? in
            if let old = s.stored[verified.sequence] {
                return old.hash == batch.hash ? true : nil
            }
            if verified.previousHash != s.lastHash { s.gaps.append(verified.sequence) }
            s.stored[verified.sequence] = batch
            s.order.append(verified.sequence)
            s.records += verified.records
            s.lastHash = verified.hash
            return false
        }
        guard let duplicate else { return (.rejected(status: 409, code: "sequence-conflict", message: "two batches, one sequence"), 100) }
        if case .storeThenLoseAck? = fault { return (.retry(reason: "connection reset after the body", retryAfter: nil), 100) }
        return (.acknowledged(duplicate: duplicate, gap: nil), 200)
    }

    func shutdown() async {}
}

/// A state directory with a device key and a spool holding `readings` readings.
struct UplinkFixture {
    let directory: String
    let spool: Spool
    let spoolLoop: Task<Void, Never>
    let key: DeviceKey
    let time = TestTimeSource()
    let recorder = RecordingSink()

    init(readings: Int) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-uplink-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        key = try DeviceKeyStore(stateDirectory: URL(fileURLWithPath: directory)).create()
        spool = try await Spool.open(SpoolConfiguration(path: directory + "/spool.sqlite"), timeSource: time)
        let spool = self.spool
        spoolLoop = Task { await spool.run() }
        try await add(readings: readings)
    }

    func add(readings: Int, from start: Int = 0) async throws {
        for i in start..<(start + readings) {
            try spool.enqueue(Reading(channel: ChannelName(rawValue: "meter.power")!, value: .number(Double(i)), unit: .watt, time: time.now()))
            time.advance(seconds: 1)
        }
        _ = await spool.flush()
    }

    func service(_ receiver: ScriptedReceiver, _ tweak: (inout UplinkConfiguration) -> Void = { _ in },
                 trigger: UplinkTrigger = UplinkTrigger(), remote: RemoteSettings? = nil) -> UplinkService {
        var configuration = UplinkConfiguration(url: URL(string: "https://ingest.example/v1/batches")!)
        configuration.maxBatchRecords = 100
        configuration.batchInterval = .seconds(3600)
        configuration.initialBackoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(80)
        tweak(&configuration)
        return UplinkService(configuration: configuration, stateDirectory: directory, deviceID: DeviceID(rawValue: "pole-7")!,
                             spool: spool, transport: receiver, trigger: trigger, sink: recorder, timeSource: time,
                             heartbeats: LoopHeartbeats(), remote: remote, logger: silentLogger)
    }

    /// Runs `service` until `done` holds (or 20 s pass), then stops it.
    func run(_ service: UplinkService, until done: @escaping @Sendable () async -> Bool) async throws {
        let task = Task { try await service.run() }
        // The condition is checked first; the deadline only guards against a hang (TestSupport's HangGuard).
        let deadline = ContinuousClock.now + HangGuard.duration
        while !(await done()), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        _ = try? await task.value
        #expect(await done(), "condition not reached within the hang guard (\(HangGuard.duration))")
    }

    func pending() async throws -> Int { try await spool.oldestPending(limit: 100_000).count }
}

@Suite("Uplink service")
struct UplinkServiceTests {
    @Test func drainsTheSpoolInOrderThroughFailuresExactlyOnce() async throws {
        let fixture = try await UplinkFixture(readings: 250)
        let receiver = ScriptedReceiver(publicKey: fixture.key.publicKey)
        receiver.inject([.fail("HTTP 503", retryAfter: .milliseconds(30)), .fail("timeout", retryAfter: nil), .storeThenLoseAck,
                         .fail("reset mid-body", retryAfter: nil), .storeThenLoseAck])
        // Sync to skip the hour-long window.
        let service = fixture.service(receiver)
        let sync = Task { await service.syncNow(timeout: .seconds(15)) }
        try await fixture.run(service) { (try? await fixture.pending()) == 0 }
        _ = await sync.value

        let values = receiver.state.withLock { $0.records.compactMap { r -> Double? in if case .number(let n)? = r.value { n } else { nil } } }
        #expect(values == (0..<250).map(Double.init))
        #expect(receiver.state.withLock { $0.order } == [1, 2, 3])
        #expect(receiver.state.withLock { $0.gaps }.isEmpty)
        // Every retry of a sequence sent the very same bytes.
        let attempts = receiver.state.withLock { $0.attempts }
        for (sequence, bytes) in attempts { #expect(bytes == attempts.first { $0.sequence == sequence }!.bytes) }
        #expect(attempts.count == 8)
        let status = service.status()
        #expect(status.acknowledgedSequence == 3 && status.inFlightSequence == nil && status.lastError == nil)
        #expect(status.recordsSent == 250)
    }

    @Test func aRestartResendsTheBatchInFlightByteForByte() async throws {
        let fixture = try await UplinkFixture(readings: 50)
        let receiver = ScriptedReceiver(publicKey: fixture.key.publicKey)
        receiver.inject([.storeThenLoseAck])
        let first = fixture.service(receiver, { $0.initialBackoff = .seconds(60); $0.maxBackoff = .seconds(60) })
        _ = Task { await first.syncNow(timeout: .seconds(5)) }
        try await fixture.run(first) { receiver.state.withLock { $0.attempts.count } == 1 }
        #expect(try await fixture.pending() == 50)   // stored upstream, but not acknowledged: kept

        let ledger = try UplinkLedger.load(directory: fixture.directory)
        #expect(ledger.inFlight?.sequence == 1)
        let second = fixture.service(receiver)
        _ = Task { await second.syncNow(timeout: .seconds(5)) }
        try await fixture.run(second) { (try? await fixture.pending()) == 0 }
        let attempts = receiver.state.withLock { $0.attempts }
        #expect(attempts.count == 2 && attempts[0].bytes == attempts[1].bytes)
        #expect(receiver.state.withLock { $0.records.count } == 50)
        #expect(try UplinkLedger.load(directory: fixture.directory).acknowledgedSequence == 1)
    }

    @Test func aDamagedBatchFileUsesUpItsSequenceAndLosesNoRecord() async throws {
        let fixture = try await UplinkFixture(readings: 30)
        let receiver = ScriptedReceiver(publicKey: fixture.key.publicKey)
        receiver.inject([.fail("down", retryAfter: nil)])
        let first = fixture.service(receiver, { $0.initialBackoff = .seconds(60); $0.maxBackoff = .seconds(60) })
        _ = Task { await first.syncNow(timeout: .seconds(5)) }
        try await fixture.run(first) { receiver.state.withLock { $0.attempts.count } == 1 }
        try Data("rubbish".utf8).write(to: URL(fileURLWithPath: fixture.directory + "/uplink-inflight.cose"))

        let second = fixture.service(receiver)
        _ = Task { await second.syncNow(timeout: .seconds(5)) }
        try await fixture.run(second) { (try? await fixture.pending()) == 0 }
        #expect(receiver.state.withLock { $0.attempts.map(\.sequence) } == [1, 2])
        #expect(receiver.state.withLock { $0.gaps } == [2])  // the receiver sees sequence 1 missing
        #expect(receiver.state.withLock { $0.records.count } == 30)
        #expect(fixture.recorder.events.contains { $0.kind == "uplink.inflight-lost" })
    }

    @Test func aRejectedBatchStaysInTheSpoolAndRaisesOneAlarm() async throws {
        let fixture = try await UplinkFixture(readings: 10)
        let receiver = ScriptedReceiver(publicKey: fixture.key.publicKey)
        receiver.inject([.reject(401, "unknown-key"), .reject(401, "unknown-key"), .reject(401, "unknown-key")])
        let service = fixture.service(receiver, { $0.maxBackoff = .milliseconds(30) })
        _ = Task { await service.syncNow(timeout: .seconds(5)) }
        try await fixture.run(service) { (try? await fixture.pending()) == 0 }
        #expect(fixture.recorder.events.filter { $0.kind == "uplink.rejected" }.count == 1)
        #expect(receiver.state.withLock { $0.records.count } == 10)
    }

    /// A batch refused as malformed is refused forever (its bytes never change): holding it would
    /// stop every later reading. After a few refusals it is set aside, kept on disk, with an alarm.
    @Test func aBatchRefusedAsMalformedIsSetAsideAndTheUplinkGoesOn() async throws {
        let fixture = try await UplinkFixture(readings: 10)
        let receiver = ScriptedReceiver(publicKey: fixture.key.publicKey)
        receiver.inject(Array(repeating: .reject(400, "malformed-payload"), count: UplinkService.refusalsBeforeSettingAside))
        let service = fixture.service(receiver, { $0.maxBackoff = .milliseconds(30); $0.maxBatchRecords = 5 })
        _ = Task { await service.syncNow(timeout: .seconds(5)) }
        // The spool empties when the second batch is acknowledged; the status follows right after.
        try await fixture.run(service) { (try? await fixture.pending()) == 0 && service.status().state == "idle" }
        let attempts = receiver.state.withLock { $0.attempts.map(\.sequence) }
        #expect(attempts == Array(repeating: 1, count: UplinkService.refusalsBeforeSettingAside) + [2], "\(attempts)")
        #expect(receiver.state.withLock { $0.records.count } == 5)   // the other batch's records
        #expect(receiver.state.withLock { $0.gaps } == [2])           // the receiver sees batch 1 missing
        let kept = try Data(contentsOf: URL(fileURLWithPath: fixture.directory + "/uplink-refused-1.cose"))
        #expect(try BatchVerifier.verify(bytes: [UInt8](kept), publicKey: fixture.key.publicKey).records.count == 5)
        #expect(fixture.recorder.events.filter { $0.kind == "uplink.batch-set-aside" }.count == 1)
        #expect(service.status().state == "idle" && service.status().acknowledgedSequence == 2)
    }

    @Test func theDailyCapHoldsOrdinaryBatchesButNotUrgentOnes() async throws {
        let fixture = try await UplinkFixture(readings: 300)
        let receiver = ScriptedReceiver(publicKey: fixture.key.publicKey)
        let trigger = UplinkTrigger()
        // Each attempt counts 200 bytes in the fake; the cap allows one batch.
        let service = fixture.service(receiver, { $0.maxBytesPerDay = 10_000; $0.batchInterval = .seconds(1) }, trigger: trigger)
        // Burn the day's budget first.
        var ledger = UplinkLedger()
        ledger.budget.add(10_000, at: fixture.time.now().date)
        try await ledger.save(directory: fixture.directory)
        let task = Task { try await service.run() }
        // Waits for the state, not for a time (on a loaded machine 1.5 s was not always enough).
        try await waitUntil { service.status().state == "cap-reached" }
        #expect(receiver.state.withLock { $0.attempts.count } == 0)
        #expect(service.status().state == "cap-reached")
        // An alarm event: everything up to it goes out.
        try fixture.spool.enqueue(Event(kind: "door.opened", severity: .alarm, time: fixture.time.now(), message: "door"))
        trigger.urgent()
        let deadline = ContinuousClock.now + HangGuard.duration  // a hang guard; the condition comes first
        while (try await fixture.pending()) > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        _ = try? await task.value
        #expect(try await fixture.pending() == 0)
        #expect(receiver.state.withLock { $0.records.contains { if case .event(kind: "door.opened", _) = $0.kind { true } else { false } } })
    }

    /// Issue 11 #17: a full (or read-only) state directory was reported as an uplink problem
    /// ("backing-off", an `uplink.` alarm). It is a storage problem, and says so.
    @Test func aStateDirectoryThatCannotBeWrittenIsAStorageProblemNotAnUplinkOne() async throws {
        let fixture = try await UplinkFixture(readings: 5)
        // DurableFile cannot create its temporary file where a directory stands (this works as root too).
        let blocker = fixture.directory + "/.uplink-inflight.cose.\(getpid()).tmp"
        try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: false)
        let receiver = ScriptedReceiver(publicKey: fixture.key.publicKey)
        let service = fixture.service(receiver)
        _ = Task { await service.syncNow(timeout: .seconds(5)) }
        try await fixture.run(service) { service.status().lastError != nil }
        let status = service.status()
        #expect(status.state == "storage-error", "\(status)")
        #expect(status.lastError?.contains(fixture.directory) == true, "\(status.lastError ?? "")")
        let alarms = fixture.recorder.events.filter { $0.severity == .alarm }
        #expect(alarms.map(\.kind) == ["storage.uplink-state"], "\(alarms)")
        #expect(alarms.first?.message.contains("not the uplink") == true, "\(alarms.first?.message ?? "")")
        #expect(receiver.state.withLock { $0.attempts }.isEmpty)
        #expect(try await fixture.pending() == 5)
        // Once the directory can be written again, the batch goes out.
        try FileManager.default.removeItem(atPath: blocker)
        _ = Task { await service.syncNow(timeout: .seconds(5)) }
        try await fixture.run(service) { (try? await fixture.pending()) == 0 }
    }

    /// The ledger is a file: whatever it holds, lampd must not trap on it (a sequence at UInt64.max,
    /// a spool range at Int64.min, a negative byte count), and must say what is wrong.
    @Test func aLedgerWithImpossibleNumbersIsRefusedWithAReason() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hash = String(repeating: "ab", count: 32)
        func inFlight(_ sequence: Any, _ first: Any, _ last: Any, _ count: Any) -> [String: Any] {
            ["inFlight": ["sequence": sequence, "kidHex": "21fe31dfa154a261", "hashHex": hash, "firstSpoolSequence": first,
                          "lastSpoolSequence": last, "recordCount": count]]
        }
        let sane: [String: Any] = ["version": 1, "kidHex": "21fe31dfa154a261", "lastSequence": 1, "lastHashHex": hash,
                                   "acknowledgedSequence": 0, "budget": ["day": "", "bytes": 0]]
        for (what, fields) in [
            ("sequence", ["lastSequence": UInt64.max] as [String: Any]),
            ("sequence", inFlight(0, 1, 2, 2)),
            ("spool range", inFlight(1, Int64.min, 2, 2)),
            ("spool range", inFlight(1, 5, 3, 1)),
            ("record", inFlight(1, 1, 2, 3)),
            ("bytes", ["budget": ["day": "2026-12-06", "bytes": -5]]),
        ] {
            let text = try JSONSerialization.data(withJSONObject: sane.merging(fields) { _, new in new })
            try text.write(to: URL(fileURLWithPath: directory + "/uplink-state.json"))
            do {
                let ledger = try UplinkLedger.load(directory: directory)
                Issue.record("\(what): loaded \(ledger)")
            } catch {
                #expect("\(error)".contains(what), "\(error)")
            }
        }
        // A sane one loads.
        try Data(#"{"version":1,"kidHex":"","lastSequence":3,"lastHashHex":"","acknowledgedSequence":3,"budget":{"day":"","bytes":0}}"#.utf8)
            .write(to: URL(fileURLWithPath: directory + "/uplink-state.json"))
        #expect(try UplinkLedger.load(directory: directory).lastSequence == 3)
    }

    @Test func withoutAKeyTheUplinkWaitsAndSaysWhy() async throws {
        let fixture = try await UplinkFixture(readings: 5)
        try FileManager.default.removeItem(atPath: fixture.directory + "/device-key")
        let receiver = ScriptedReceiver(publicKey: fixture.key.publicKey)
        let service = fixture.service(receiver)
        _ = Task { await service.syncNow(timeout: .seconds(5)) }
        try await fixture.run(service) { service.status().state == "no-key" }
        #expect(fixture.recorder.events.contains { $0.kind == "uplink.key-missing" })
        #expect(try await fixture.pending() == 5)
    }
}
