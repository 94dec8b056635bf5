import Foundation
import Testing
import TestSupport
@testable import Downlink
import Uplink
import Lighting

/// Documents made by an independent implementation (Tests/Peers/desired_state_sign.py: cbor2,
/// pycose and cryptography, written from docs/downlink.md) are accepted by the board's verifier,
/// and each broken one is refused with its named reason.
@Suite("Desired state from an independent Python signer")
struct DesiredStatePeerTests {
    typealias F = DownlinkFixtures
    let verifier = DesiredStateVerifier(keyring: F.keyring)

    static let scheduleJSON = """
        "programs": [{"id": "dim-midnight", "activePeriod": {"from": "sunset", "to": "sunrise"},
                      "switchPoints": [{"at": "17:00", "level": 100}, {"at": "23:00", "level": 50, "rampSeconds": 60},
                                       {"at": "05:00", "level": 100}]}],
        "calendar": {"id": "city", "defaultProgram": "dim-midnight",
                     "rules": [{"program": "dim-midnight", "weekdays": [5, 6], "dates": [{"start": "---01", "end": "---07"}]}]},
        "defaultLightState": 100,
        "configuration": {"batchIntervalSeconds": 600, "samplingPeriodSeconds": {"meter": 120}}
        """

    static func header(version: Int = 9, device: String = F.deviceID, expiresAt: Int64 = F.now + 7 * F.day) -> String {
        "\"device\": \"\(device)\", \"version\": \(version), \"issuedAt\": \(F.now - 60), \"expiresAt\": \(expiresAt)"
    }

    static func override(hours: Int64 = 4, start: Int64 = F.now) -> String {
        "\"override\": {\"level\": 100, \"start\": \(start), \"expiry\": \(start + hours * 3600), \"rampSeconds\": 30, \"reason\": \"festival\"}"
    }

    func sign(_ json: String, seed: [UInt8] = F.schedulerSeed) async throws -> [UInt8] {
        try await PeerRunner.requireModules()
        let result = try await ChildProcess.runPython([Products.peer("desired_state_sign.py"), seed.hexString], input: "{\(json)}")
        #expect(result.status == .exited(0), "\(result.stderr)")
        return try #require([UInt8](hexString: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    func reason(_ bytes: [UInt8], board: BoardDownlinkState = F.board(applied: [.scheduler: 8, .operator: 8])) -> String {
        do {
            _ = try verifier.verify(bytes, board: board)
            return "accepted"
        } catch {
            return error.reason.rawValue
        }
    }

    @Test func aPythonSchedulerDocumentIsAccepted() async throws {
        let bytes = try await sign(Self.header() + "," + Self.scheduleJSON)
        let verified = try verifier.verify(bytes, board: F.board(applied: [.scheduler: 8]))
        #expect(verified.role == .scheduler)
        #expect(verified.state.version == 9)
        #expect(verified.state.schedule?.programs.first?.switchPoints.count == 3)
        #expect(verified.state.schedule?.calendar.rules.first?.weekdays == [5, 6])
        #expect(verified.state.configuration == RemoteConfiguration(batchIntervalSeconds: 600, samplingPeriodSeconds: ["meter": 120]))
    }

    @Test func aPythonOverrideIsAccepted() async throws {
        let bytes = try await sign(Self.header() + "," + Self.override(), seed: F.operatorSeed)
        let verified = try verifier.verify(bytes, board: F.board())
        #expect(verified.role == .operator)
        #expect(verified.state.override?.levelPercent == 100)
        #expect(verified.state.override.map { $0.expirySeconds - $0.startSeconds } == Int64(14_400))
    }

    @Test func eachBrokenPythonDocumentIsRefusedWithItsReason() async throws {
        var flipped = try await sign(Self.header() + "," + Self.scheduleJSON)
        flipped[flipped.count - 70] ^= 0x01  // a byte of the payload
        #expect(reason(flipped) == "badSignature")
        #expect(reason(try await sign(Self.header(version: 8) + "," + Self.scheduleJSON)) == "notNewer")
        #expect(reason(try await sign(Self.header(device: "pole-0043") + "," + Self.scheduleJSON)) == "otherDevice")
        #expect(reason(try await sign(Self.header(expiresAt: F.now - 1) + "," + Self.scheduleJSON)) == "expired")
        #expect(reason(try await sign(Self.header() + "," + Self.scheduleJSON, seed: F.strangerSeed)) == "unknownKey")
        #expect(reason(try await sign(Self.header() + "," + Self.scheduleJSON, seed: F.operatorSeed)) == "wrongRole")
        #expect(reason(try await sign(Self.header() + "," + Self.override(hours: 13), seed: F.operatorSeed)) == "overrideTooLong")
        #expect(reason(try await sign(Self.header() + "," + Self.override(start: F.now - 5 * 3600), seed: F.operatorSeed)) == "expired")
        #expect(reason(try await sign(Self.header() + ", \"brightnessBoost\": 1")) == "malformed")
    }
}

/// The Python peers' modules, checked once per test.
enum PeerRunner {
    static func requireModules() async throws {
        let check = try await ChildProcess.runPython(["-c", "import cbor2, pycose, cryptography"])
        if check.status != .exited(0) {
            Issue.record("python3 with cbor2, pycose, cryptography is missing — run scripts/setup --test (\(check.stderr))")
            throw CancellationError()
        }
    }
}
