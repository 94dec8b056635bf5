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

    func sign(version: Int, level: Int) async throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        let json = """
            {"device": "test-pole", "version": \(version), "issuedAt": \(now - 60), "expiresAt": \(now + 3600),
             "override": {"level": \(level), "start": \(now - 30), "expiry": \(now + 1800), "reason": "festival"}}
            """
        let signed = try await ChildProcess.runPython([Products.peer("desired_state_sign.py"), Self.operatorSeed], input: json)
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
        let document = try await sign(version: 3, level: 37)

        try await withSimulatedDaemon(configuration: "[downlink]\nkeys_dir = \"\(keys)\"\n") { daemon in
            try await daemon.waitUntilAnswering()
            let synchronised = try #require(try await daemon.control.result("status")?["clockSynchronised"] as? Bool)
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
            #expect(downlink["keysPinned"] as? Int == 1, "\(downlink)")
            let events = try await ChildProcess.run(product: "lampctl", ["events", "--socket", daemon.socket])
            #expect(events.stdout.contains(synchronised ? "downlink.applied" : "downlink.refused"), "\(events.stdout)")
        }
    }
}
