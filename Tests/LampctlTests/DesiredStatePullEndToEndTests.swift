import Foundation
import Testing
import TestSupport

/// The pull end to end with real processes: `lamp-ingest publish --store` → `lamp-ingest serve
/// --store` behind the TLS proxy (client certificate) → lampd pulls at start → applies the
/// override (or, on a machine whose clock is not synchronised, refuses it as clockUnsynchronised)
/// → the outcome event goes upstream in a signed batch, and the store says the version was fetched.
@Suite("Desired-state pull end to end: lamp-ingest publish → serve → lampd", .serialized)
struct DesiredStatePullEndToEndTests {
    /// RFC 8032 §7.1 TEST 3 secret key and its public key: a public test vector, never a city's.
    static let operatorSeed = DownlinkEndToEndTests.operatorSeed
    static let operatorPublicKey = DownlinkEndToEndTests.operatorPublicKey

    /// The seed as the PKCS#8 PEM file `lamp-ingest publish --key` reads (mode 0600).
    static func writeOperatorKey(to path: String) throws {
        try CityKeyFile.write(seed: CityKeyFile.seed(hex: operatorSeed), to: path)
    }

    /// The published-state store given to publish, serve and downlink-status: a SQLite file in
    /// `directory`, or a throwaway PostgreSQL database (skipped without `LAMPD_TEST_POSTGRES_URL`).
    static func withPublishedStore(_ postgres: Bool, in directory: URL, _ body: (String) async throws -> Void) async throws {
        if postgres {
            try await ThrowawayDatabase.with(body)
        } else {
            try await body(directory.appendingPathComponent("published.sqlite").path)
        }
    }

    /// With `--simulate-synchronised-clock` the applied path runs; without it, on this machine's
    /// unsynchronised clock, the refused one (on a machine with NTP both apply). The published
    /// store is SQLite, and once PostgreSQL (`--desired-state postgres://…`).
    @Test(arguments: [(true, false), (false, false), (true, true)])
    func aPublishedOverrideIsPulledAndItsOutcomeGoesUpstream(synchronisedClock: Bool, postgres: Bool) async throws {
        try await UplinkRig.with { rig in try await Self.withPublishedStore(postgres, in: rig.directory) { store in
            let key = rig.directory.appendingPathComponent("operator.key").path
            try Self.writeOperatorKey(to: key)
            let until = Date().addingTimeInterval(1800).formatted(.iso8601)
            let publish = try await ChildProcess.run(product: "lamp-ingest", [
                "publish", "--key", key, "--device", "e2e-pole", "--desired-state", store, "--override", "37", "--until", until, "--reason", "festival"])
            #expect(publish.exitCode == 0, "\(publish.stderr)")
            #expect(publish.stdout.contains("e2e-pole operator version 1"), "\(publish.stdout)")

            let keys = rig.directory.appendingPathComponent("city-keys").path
            try FileManager.default.createDirectory(atPath: keys + "/operator", withIntermediateDirectories: true)
            try (Self.operatorPublicKey + "\n").write(toFile: keys + "/operator/city.pub", atomically: true, encoding: .utf8)

            try await rig.startIngest(extraArguments: ["--desired-state", store])
            try await rig.startProxy()
            try await rig.startLampd(uplink: rig.uplinkThroughProxy, extraConfiguration: "[downlink]\nkeys_dir = \"\(keys)\"\n",
                                 extraArguments: synchronisedClock ? ["--simulate-synchronised-clock"] : [])
            let daemon = try #require(rig.lampd)
            let reported: Bool? = try await daemon.control.result("status")?["clockSynchronised"] as? Bool
            let synchronised = try #require(reported as Bool?, "status has no clockSynchronised")
            print("desired-state pull end to end: clock synchronised = \(synchronised)")
            if synchronisedClock { #expect(synchronised) }
            // The pull at start: its outcome is an event, which goes upstream in a batch.
            let outcome = synchronised ? "downlink.applied" : "downlink.refused"
            _ = try await daemon.waitFor("lampd to report the pulled document's outcome") { status in
                ((status["downlink"] as? [String: Any])?["lastOutcome"] as? [String: Any]) != nil
            }
            let status = try await rig.lampctl(["downlink", "status"])
            if synchronised {
                let applied = try #require(status["applied"] as? [[String: Any]], "\(status)")
                #expect(applied.first?["version"] as? Int == 1)
                #expect(applied.first?["via"] as? String == "pull")
            } else {
                #expect((status["lastOutcome"] as? [String: Any])?["reason"] as? String == "clockUnsynchronised", "\(status)")
            }
            // Upstream: the event arrives in a signed batch, and the store says the version was fetched.
            _ = try await rig.lampctl(["sync", "now", "--timeout", "30"])
            let export = try await ChildProcess.run(product: "lamp-ingest", ["export", "--db", rig.directory.appendingPathComponent("ingest.sqlite").path])
            #expect(export.stdout.contains(outcome), "the outcome event is not upstream")
            let report = try await ChildProcess.run(product: "lamp-ingest", [
                "downlink-status", "--desired-state", store, "--ingest-store", rig.directory.appendingPathComponent("ingest.sqlite").path, "--json"])
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [[String: Any]], "\(report.stdout)\(report.stderr)")
            #expect(rows.first?["status"] as? String == (synchronised ? "applied" : "refused: clockUnsynchronised"), "\(rows)")
            // One outcome, not one per acknowledged batch: the same refused document served again
            // is not applied again, and the pulls that batches wake are spaced.
            #expect(export.stdout.components(separatedBy: outcome).count - 1 == 1, "\(export.stdout.components(separatedBy: outcome).count - 1) outcome events upstream")
        } }
    }

    /// With `[downlink] long_poll`, a document published while the board's pull is held reaches
    /// the lamp without a poll interval or `sync now`: version 1 comes with the pull at start,
    /// version 2 (published after version 1 was applied) only through the held pull.
    /// On PostgreSQL the serving replica learns of the publish from the shared database.
    @Test(arguments: [false, true])
    func aLongPollBringsADocumentPublishedWhileItIsHeld(postgres: Bool) async throws {
        try await UplinkRig.with { rig in try await Self.withPublishedStore(postgres, in: rig.directory) { store in
            let key = rig.directory.appendingPathComponent("operator.key").path
            try Self.writeOperatorKey(to: key)
            let keys = rig.directory.appendingPathComponent("city-keys").path
            try FileManager.default.createDirectory(atPath: keys + "/operator", withIntermediateDirectories: true)
            try (Self.operatorPublicKey + "\n").write(toFile: keys + "/operator/city.pub", atomically: true, encoding: .utf8)
            func publish(_ level: Int) async throws {
                let until = Date().addingTimeInterval(1800).formatted(.iso8601)
                let result = try await ChildProcess.run(product: "lamp-ingest", [
                    "publish", "--key", key, "--device", "e2e-pole", "--desired-state", store, "--override", "\(level)", "--until", until])
                #expect(result.exitCode == 0, "\(result.stderr)")
            }
            func appliedVersion(_ status: [String: Any]) -> Int? {
                guard let last = (status["downlink"] as? [String: Any])?["lastOutcome"] as? [String: Any],
                      last["outcome"] as? String == "applied" else { return nil }
                return last["version"] as? Int
            }
            try await publish(41)
            try await rig.startIngest(extraArguments: ["--desired-state", store])
            try await rig.startProxy()
            try await rig.startLampd(uplink: rig.uplinkThroughProxy,
                                     extraConfiguration: "[downlink]\nkeys_dir = \"\(keys)\"\nlong_poll = \"600s\"\n",
                                     extraArguments: ["--simulate-synchronised-clock"])
            let daemon = try #require(rig.lampd)
            _ = try await daemon.waitFor("lampd to apply version 1 from the pull at start") { appliedVersion($0) == 1 }
            let published = ContinuousClock.now
            try await publish(42)
            _ = try await daemon.waitFor("lampd to apply version 2 through its held pull") { appliedVersion($0) == 2 }
            print("long poll (\(postgres ? "PostgreSQL" : "SQLite")): publish → applied on the board in \(ContinuousClock.now - published) (lampctl status polled)")
        } }
    }
}
