import Foundation
import Testing
import TestSupport

/// End to end with real processes: a document signed by the independent Python signer, handed
/// to a running simulated lampd with `lampctl downlink apply`, decides the lamp (or, on a machine
/// whose clock is not synchronised, is refused with that reason and changes nothing); a replay
/// is refused; both outcomes are events.
@Suite("lampctl downlink against a running lampd")
struct DownlinkEndToEndTests {
    /// RFC 8032 §7.1 TEST 3 secret key and its public key: a public test vector, never a city's.
    static let operatorSeed = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"
    static let operatorPublicKey = "/FHNjmIYoaONpH7QAjDwWAgW7RO6MwOsXeuRFUiQgCU="

    /// RFC 8032 §7.1 TEST 2 secret key and its public key: a public test vector, never a city's.
    static let schedulerSeed = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
    static let schedulerPublicKey = "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="

    func sign(version: Int, level: Int) async throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        return try await sign("""
            {"device": "test-pole", "version": \(version), "issuedAt": \(now - 60), "expiresAt": \(now + 3600),
             "override": {"level": \(level), "start": \(now - 30), "expiry": \(now + 1800), "reason": "festival"}}
            """, seed: Self.operatorSeed)
    }

    /// A scheduler document with only `configuration` (a JSON map) and a default light state.
    func signConfiguration(version: Int, _ configuration: String) async throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        return try await sign("""
            {"device": "test-pole", "version": \(version), "issuedAt": \(now - 60), "expiresAt": \(now + 3600),
             "defaultLightState": 100, "configuration": \(configuration)}
            """, seed: Self.schedulerSeed)
    }

    /// Signs the payload `json` with the Python signer; returns the document's file.
    func sign(_ json: String, seed: String) async throws -> String {
        let signed = try await ChildProcess.runPython([Products.peer("desired_state_sign.py"), seed], input: json)
        #expect(signed.status == .exited(0), "\(signed.stderr)")
        let hex = Array(signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(String(hex[$0...$0 + 1]), radix: 16) }
        #expect(bytes.count * 2 == hex.count && !bytes.isEmpty, "\(signed.stdout)")
        let path = NSTemporaryDirectory() + "downlink-\(UUID().uuidString).cose"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aSignedOverrideDecidesTheLampAndAReplayIsRefused() async throws {
        let keys = NSTemporaryDirectory() + "city-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: keys + "/operator", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: keys + "/scheduler", withIntermediateDirectories: true)
        try (Self.operatorPublicKey + "\n").write(toFile: keys + "/operator/city.pub", atomically: true, encoding: .utf8)
        try (Self.schedulerPublicKey + "\n").write(toFile: keys + "/scheduler/city.pub", atomically: true, encoding: .utf8)
        let document = try await sign(version: 3, level: 37)

        try await withSimulatedDaemon(configuration: "[downlink]\nkeys_dir = \"\(keys)\"\n") { daemon in
            try await daemon.waitUntilAnswering()
            let reported: Bool? = try await daemon.control.result("status")?["clockSynchronised"] as? Bool
            let synchronised = try #require(reported as Bool?, "status has no clockSynchronised")
            print("downlink end to end: clock synchronised = \(synchronised)")
            let apply = try await ChildProcess.run(product: "lampctl", ["downlink", "apply", document, "--socket", daemon.socket])
            let explain = try #require(try await ChildProcess.run(product: "lampctl", ["lamp", "explain", "--json", "--socket", daemon.socket]).jsonObject())
            if synchronised {
                #expect(apply.exitCode == 0, "\(apply.stderr)")
                #expect(apply.stdout.contains("applied operator version 3"), "\(apply.stdout)")
                #expect(explain["source"] as? String == "cityOverride", "\(explain)")
                #expect(explain["targetLevelPercent"] as? Double == 37)
                #expect((explain["reason"] as? String)?.contains("city override v3") == true, "\(explain)")
                let replay = try await ChildProcess.run(product: "lampctl", ["downlink", "apply", document, "--socket", daemon.socket])
                #expect(replay.exitCode == 1)
                #expect(replay.stderr.contains("notNewer") || replay.stdout.contains("notNewer"), "\(replay.stderr)")
            } else {
                #expect(apply.exitCode == 1)
                #expect(apply.stderr.contains("clockUnsynchronised") || apply.stdout.contains("clockUnsynchronised"), "\(apply.stderr)")
                #expect(explain["source"] as? String != "cityOverride")
            }
            let status = try await ChildProcess.run(product: "lampctl", ["downlink", "status", "--json", "--socket", daemon.socket])
            let downlink = try #require(try status.jsonObject(), "\(status.stdout)")
            #expect(downlink["keysPinned"] as? Int == 2, "\(downlink)")
            let events = try await ChildProcess.run(product: "lampctl", ["events", "--socket", daemon.socket])
            #expect(events.stdout.contains(synchronised ? "downlink.applied" : "downlink.refused"), "\(events.stdout)")
        }
    }

    /// The scheduler's remote configuration, signed by the independent signer, changes the
    /// running lampd's byte cap (`lampctl status`); one naming a source it does not poll is refused whole.
    @Test func aSchedulersConfigurationChangesTheRunningBoard() async throws {
        let keys = NSTemporaryDirectory() + "city-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: keys + "/scheduler", withIntermediateDirectories: true)
        try (Self.schedulerPublicKey + "\n").write(toFile: keys + "/scheduler/city.pub", atomically: true, encoding: .utf8)
        let good = try await signConfiguration(version: 4, #"{"maxBytesPerDay": 20000, "samplingPeriodSeconds": {"meter": 5}}"#)
        let unknown = try await signConfiguration(version: 5, #"{"maxBytesPerDay": 30000, "samplingPeriodSeconds": {"pump": 5}}"#)
        // An uplink that cannot connect (the spool keeps everything): the cap shows in `lampctl status`.
        let extra = "[downlink]\nkeys_dir = \"\(keys)\"\n[uplink]\nurl = \"https://127.0.0.1:9/v1/batches\"\nmax_bytes_per_day = 100000\n"
        try await withSimulatedDaemon(arguments: ["--simulate-synchronised-clock"], configuration: extra) { daemon in
            try await daemon.waitUntilAnswering()
            func cap() async throws -> Int? {
                let status = try await ChildProcess.run(product: "lampctl", ["status", "--json", "--socket", daemon.socket])
                return (try status.jsonObject()?["uplink"] as? [String: Any])?["maxBytesPerDay"] as? Int
            }
            #expect(try await cap() == 100_000)
            let apply = try await ChildProcess.run(product: "lampctl", ["downlink", "apply", good, "--socket", daemon.socket])
            #expect(apply.exitCode == 0, "\(apply.stderr)")
            let status = try await ChildProcess.run(product: "lampctl", ["downlink", "status", "--json", "--socket", daemon.socket])
            let applied = try #require(try status.jsonObject()?["applied"] as? [[String: Any]], "\(status.stdout)")
            #expect((applied.first?["summary"] as? String)?.hasSuffix("configuration: byte cap 20000 B/day, polling meter 5 s") == true, "\(applied)")
            #expect(try await cap() == 20_000)
            let refused = try await ChildProcess.run(product: "lampctl", ["downlink", "apply", unknown, "--socket", daemon.socket])
            #expect(refused.exitCode == 1)
            #expect((refused.stderr + refused.stdout).contains("unknownSetting"), "\(refused.stderr)")
            #expect((refused.stderr + refused.stdout).contains("\"pump\""), "\(refused.stderr)")
            #expect(try await cap() == 20_000, "a refused document changes nothing")
        }
    }
}
