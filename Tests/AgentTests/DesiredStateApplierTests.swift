import ControlProtocol
import Downlink
import Foundation
import Hardware
import Lighting
import Telemetry
import Testing
import Uplink
@testable import Agent
@testable import LampdConfig

/// City keys and documents for a simulated pole (device id `p`, Berlin).
struct CityFixture {
    /// RFC 8032 §7.1 TEST 2 and TEST 3 secret keys: public test vectors, never a city's keys.
    static let scheduler = try! DeviceKey(seed: [UInt8](hexString: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")!)
    static let `operator` = try! DeviceKey(seed: [UInt8](hexString: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")!)
    static let stranger = try! DeviceKey(seed: [UInt8](repeating: 7, count: 32))

    /// A keys directory with the scheduler key (PEM) and the operator key (base64).
    static func keysDirectory() throws -> String {
        let directory = Pole.temporaryDirectory() + "/city-keys"
        try FileManager.default.createDirectory(atPath: directory + "/scheduler", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/operator", withIntermediateDirectories: true)
        try scheduler.publicKey.pem.write(toFile: directory + "/scheduler/city.pem", atomically: true, encoding: .utf8)
        try (`operator`.publicKey.base64 + "\n").write(toFile: directory + "/operator/city.pub", atomically: true, encoding: .utf8)
        return directory
    }

    static func seconds(_ iso: String) -> Int64 { Int64(ISO8601DateFormatter().date(from: iso)!.timeIntervalSince1970) }

    /// A scheduler document: a flat `level` all night and day (no active period), or only a default light state.
    static func schedule(version: UInt64, level: Int, issued: String, days: Int64 = 30, device: String = "p",
                         defaultOnly: Bool = false, by key: DeviceKey = scheduler) -> [UInt8] {
        let issuedAt = seconds(issued)
        let schedule = defaultOnly ? nil : try! Schedule(
            calendar: LightingCalendar(id: "city", rules: [], defaultProgram: "flat"),
            programs: [ControlProgram(id: "flat", switchPoints: [SwitchPoint(at: SwitchTime("12:00")!, levelPercent: level)])])
        let state = DesiredState(deviceID: device, version: version, issuedAtSeconds: issuedAt, expiresAtSeconds: issuedAt + days * 86_400,
                                 schedule: schedule, defaultLightStatePercent: defaultOnly ? level : nil)
        return DesiredStateSigner(key: key).sign(state)
    }

    static func override(version: UInt64, level: Int, from: String, hours: Int64, by key: DeviceKey = `operator`) -> [UInt8] {
        let start = seconds(from)
        let state = DesiredState(deviceID: "p", version: version, issuedAtSeconds: start - 60, expiresAtSeconds: start + 86_400,
                                 override: CityOverride(levelPercent: level, startSeconds: start, expirySeconds: start + hours * 3600,
                                                        reason: "festival"))
        return DesiredStateSigner(key: key).sign(state)
    }

    static func applier(_ pole: Pole, keys: String) -> DesiredStateApplier {
        DesiredStateApplier(deviceID: "p", configuration: DownlinkConfiguration(keysDirectory: keys), stateDirectory: pole.directory,
                            lighting: pole.service, sink: pole.sink, timeSource: pole.clock, logger: silentLogger)
    }
}

@Suite("Desired state applied on a simulated pole")
struct DesiredStateApplierTests {
    typealias City = CityFixture

    func refusal(_ applier: DesiredStateApplier, _ bytes: [UInt8]) async -> String {
        do {
            try await applier.apply(bytes, via: "test")
            return "applied"
        } catch {
            return error.reason.rawValue
        }
    }

    func storedFile(_ pole: Pole, _ role: String) -> Data? {
        FileManager.default.contents(atPath: pole.directory + "/desired-state-\(role).json")
    }

    @Test func eachRefusedDocumentLeavesTheLampAndTheStoreUnchanged() async throws {
        let clock = LightingTestClock("2025-12-10T20:00:00Z")  // 21:00 in Berlin: the local program says 100 %
        let pole = try await Pole.make(clock: clock)
        let applier = City.applier(pole, keys: try City.keysDirectory())
        await applier.restore()
        await pole.service.commandFirstDecision()
        #expect(pole.board.lamp().levelPercent == 100)

        try await applier.apply(City.override(version: 5, level: 30, from: "2025-12-10T19:59:00Z", hours: 2), via: "test")
        #expect(pole.board.lamp().levelPercent == 30)
        let explained = await pole.step()
        #expect(explained.source == .cityOverride)
        #expect(explained.reason.contains("city override v5"))
        let stored = storedFile(pole, "operator")

        var flipped = City.override(version: 6, level: 0, from: "2025-12-10T20:00:00Z", hours: 1)
        flipped[flipped.count - 80] ^= 0x01
        let cases: [(String, [UInt8])] = [
            ("badSignature", flipped),
            ("notNewer", City.override(version: 5, level: 0, from: "2025-12-10T20:00:00Z", hours: 1)),
            ("notNewer", City.override(version: 4, level: 0, from: "2025-12-10T20:00:00Z", hours: 1)),
            ("otherDevice", City.schedule(version: 6, level: 0, issued: "2025-12-10T19:00:00Z", device: "q")),
            ("expired", City.schedule(version: 6, level: 0, issued: "2025-11-01T19:00:00Z", days: 30)),
            ("expired", City.override(version: 6, level: 0, from: "2025-12-10T10:00:00Z", hours: 6)),
            ("unknownKey", City.override(version: 6, level: 0, from: "2025-12-10T20:00:00Z", hours: 1, by: City.stranger)),
            ("wrongRole", City.schedule(version: 6, level: 0, issued: "2025-12-10T19:00:00Z", by: City.operator)),
            ("wrongRole", City.override(version: 6, level: 0, from: "2025-12-10T20:00:00Z", hours: 1, by: City.scheduler)),
            ("overrideTooLong", City.override(version: 6, level: 0, from: "2025-12-10T20:00:00Z", hours: 13)),
            ("malformed", Array("not a document".utf8)),
        ]
        for (expected, bytes) in cases {
            #expect(await refusal(applier, bytes) == expected)
            await pole.step()
            #expect(pole.board.lamp().levelPercent == 30, "a \(expected) document changed the lamp")
        }
        #expect(storedFile(pole, "operator") == stored)
        #expect(storedFile(pole, "scheduler") == nil)
        let refusals = pole.events("downlink.refused")
        #expect(refusals.map { String($0.message.prefix { $0 != ":" }) } == cases.map(\.0))
        #expect(pole.events("downlink.applied").count == 1)
        let status = await applier.status()
        #expect(status.applied.map(\.version) == [5])
        #expect(status.lastOutcome?.reason == "malformed")

        // Without trusted time nothing new is applied, and the city's layers give way to the fail-safe.
        clock.setSynchronised(false)
        #expect(await refusal(applier, City.override(version: 9, level: 0, from: "2025-12-10T20:00:00Z", hours: 1)) == "clockUnsynchronised")
        #expect(await pole.step().source == .failSafeOn)
    }

    @Test func anOfflineMonthAppliesOnlyTheNewestAndNeverAnExpiredOverride() async throws {
        let clock = LightingTestClock("2026-01-15T12:00:00Z")  // back after a month offline
        let pole = try await Pole.make(clock: clock)
        let applier = City.applier(pole, keys: try City.keysDirectory())
        await applier.restore()
        await pole.service.commandFirstDecision()
        // What piled up on the city side during the month, handed over out of order.
        let documents = [
            (3, City.schedule(version: 3, level: 70, issued: "2025-12-25T12:00:00Z")),
            (5, City.schedule(version: 5, level: 50, issued: "2026-01-10T12:00:00Z", defaultOnly: true)),
            (1, City.schedule(version: 1, level: 90, issued: "2025-12-15T12:00:00Z")),
            (4, City.schedule(version: 4, level: 60, issued: "2026-01-05T12:00:00Z")),
            (2, City.schedule(version: 2, level: 80, issued: "2025-12-20T12:00:00Z")),
        ]
        var outcomes: [Int: String] = [:]
        for (version, bytes) in documents { outcomes[version] = await refusal(applier, bytes) }
        #expect(outcomes == [3: "applied", 5: "applied", 1: "notNewer", 4: "notNewer", 2: "notNewer"])
        // A festival override that ended while the board was away.
        #expect(await refusal(applier, City.override(version: 6, level: 100, from: "2026-01-01T18:00:00Z", hours: 6)) == "expired")
        let decision = await pole.step()
        #expect(decision.source == .citySchedule)
        #expect(decision.targetLevelPercent == 50)
        #expect(pole.board.lamp().levelPercent == 50)
        #expect(await applier.status().applied.map(\.version) == [5])
    }

    @Test func theAppliedDocumentsComeBackAfterARestart() async throws {
        let clock = LightingTestClock("2025-12-10T20:00:00Z")
        let directory = Pole.temporaryDirectory()
        let keys = try City.keysDirectory()
        do {
            let pole = try await Pole.make(clock: clock, directory: directory)
            let applier = City.applier(pole, keys: keys)
            await applier.restore()
            await pole.service.commandFirstDecision()
            try await applier.apply(City.schedule(version: 7, level: 40, issued: "2025-12-10T19:00:00Z"), via: "test")
            #expect(pole.board.lamp().levelPercent == 40)
        }
        let pole = try await Pole.make(clock: clock, directory: directory)
        let applier = City.applier(pole, keys: keys)
        await applier.restore()
        await pole.service.commandFirstDecision()
        #expect(await pole.step().reason.hasPrefix("city schedule v7: "))
        #expect(pole.board.lamp().levelPercent == 40)
        #expect(await refusal(applier, City.schedule(version: 7, level: 10, issued: "2025-12-10T19:00:00Z")) == "notNewer")

        // Removing the key revokes what it signed: at the next start the local schedule decides.
        try FileManager.default.removeItem(atPath: keys + "/scheduler/city.pem")
        let revoked = try await Pole.make(clock: clock, directory: directory)
        let again = City.applier(revoked, keys: keys)
        await again.restore()
        #expect(await revoked.step().source == .program)
        #expect(revoked.events("downlink.stored-unusable").count == 1)
    }
}
