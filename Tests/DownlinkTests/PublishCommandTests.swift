import Foundation
import Testing
import TestSupport
import Downlink
import Lighting
import Uplink

/// `lamp-ingest publish` signs documents the board's verifier accepts, and refuses a key file
/// others can read.
@Suite("lamp-ingest publish")
struct PublishCommandTests {
    typealias F = DownlinkFixtures

    static func keyFile(seed: [UInt8], mode: Int = 0o600) throws -> String {
        try CityKeyFile.write(seed: seed, mode: mode)
    }

    func publish(_ arguments: [String]) async throws -> (ChildProcess.Output, [UInt8]?) {
        let out = NSTemporaryDirectory() + "doc-\(UUID().uuidString).cose"
        let result = try await ChildProcess.run(product: "lamp-ingest", ["publish", "--out", out] + arguments)
        return (result, FileManager.default.contents(atPath: out).map { [UInt8]($0) })
    }

    @Test func publishedDocumentsAreAcceptedByTheBoard() async throws {
        let now = Int64(Date().timeIntervalSince1970)
        let board = BoardDownlinkState(deviceID: F.deviceID, nowSeconds: now, clockSynchronised: true, maximumOverrideSeconds: 12 * 3600)
        let verifier = DesiredStateVerifier(keyring: F.keyring)

        let until = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3 * 3600))
        let (overrideRun, overrideBytes) = try await publish([
            "--key", try Self.keyFile(seed: F.operatorSeed), "--device", F.deviceID, "--version", "3",
            "--override", "100", "--until", until, "--reason", "festival",
        ])
        #expect(overrideRun.status == .exited(0), "\(overrideRun.stderr)")
        let override = try verifier.verify(try #require(overrideBytes), board: board)
        #expect(override.role == .operator)
        #expect(override.state.override?.levelPercent == 100)
        #expect(!overrideRun.stdout.contains("BEGIN"), "the key must never be printed")

        let schedule = NSTemporaryDirectory() + "schedule-\(UUID().uuidString).json"
        try Data(JSONEncoder().encode(F.schedule)).write(to: URL(fileURLWithPath: schedule))
        let (scheduleRun, scheduleBytes) = try await publish([
            "--key", try Self.keyFile(seed: F.schedulerSeed), "--device", F.deviceID, "--version", "4",
            "--schedule", schedule, "--default-level", "100",
        ])
        #expect(scheduleRun.status == .exited(0), "\(scheduleRun.stderr)")
        let verified = try verifier.verify(try #require(scheduleBytes), board: board)
        #expect(verified.state.schedule == F.schedule)
        #expect(verified.state.defaultLightStatePercent == 100)
    }

    @Test func aKeyOthersCanReadIsRefused() async throws {
        let (run, bytes) = try await publish([
            "--key", try Self.keyFile(seed: F.schedulerSeed, mode: 0o644), "--device", F.deviceID, "--version", "1", "--default-level", "50",
        ])
        #expect(run.status == .exited(2))
        #expect(run.stderr.contains("chmod 600"))
        #expect(bytes == nil)
    }

    /// No one key may sign an override and a schedule (docs/downlink.md §1): refused before signing.
    @Test func anOverrideWithAScheduleIsRefused() async throws {
        let until = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        let (run, bytes) = try await publish([
            "--key", try Self.keyFile(seed: F.operatorSeed), "--device", F.deviceID, "--version", "1",
            "--override", "100", "--until", until, "--default-level", "50",
        ])
        #expect(run.status != .exited(0))
        #expect(run.stderr.contains("publish them separately"), "\(run.stderr)")
        #expect(bytes == nil)
    }
}
