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

    /// `--configuration` puts the remote configuration in the scheduler's document, checked as a
    /// board checks it: an unknown key or a value out of range is refused before signing.
    @Test func aConfigurationIsPublishedAndAWrongOneRefused() async throws {
        let now = Int64(Date().timeIntervalSince1970)
        let board = BoardDownlinkState(deviceID: F.deviceID, nowSeconds: now, clockSynchronised: true, maximumOverrideSeconds: 12 * 3600)
        func file(_ json: String) throws -> String {
            let path = NSTemporaryDirectory() + "configuration-\(UUID().uuidString).json"
            try json.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let key = try Self.keyFile(seed: F.schedulerSeed)
        let (run, bytes) = try await publish([
            "--key", key, "--device", F.deviceID, "--version", "5", "--default-level", "80",
            "--configuration", try file(#"{"batchIntervalSeconds": 300, "maxBytesPerDay": 50000, "samplingPeriodSeconds": {"meter": 10}}"#),
        ])
        #expect(run.status == .exited(0), "\(run.stderr)")
        let verified = try DesiredStateVerifier(keyring: F.keyring).verify(try #require(bytes), board: board)
        #expect(verified.role == .scheduler)
        #expect(verified.state.configuration == RemoteConfiguration(batchIntervalSeconds: 300, maxBytesPerDay: 50_000, samplingPeriodSeconds: ["meter": 10]))
        #expect(verified.state.defaultLightStatePercent == 80)

        let wrong: [(String, String)] = [
            (#"{"batchIntervalSeconds": 300, "upstreamURL": "https://evil.example"}"#, "\"upstreamURL\", which boards refuse"),
            (#"{"batchIntervalSeconds": 0}"#, "a board would refuse this document"),
            (#"{"maxBytesPerDay": 1e30}"#, "not whole numbers"),
            (#"{"batchIntervalSeconds": 1.5}"#, "not whole numbers"),
            (#"[1, 2]"#, "not a JSON object"),
            (#"{}"#, "sets nothing"),
        ]
        for (json, message) in wrong {
            let (refused, none) = try await publish(["--key", key, "--device", F.deviceID, "--version", "6", "--configuration", try file(json)])
            #expect(refused.status != .exited(0), "\(json)")
            #expect(refused.stderr.contains(message), "\(json): \(refused.stderr)")
            #expect(none == nil)
        }
    }
}
