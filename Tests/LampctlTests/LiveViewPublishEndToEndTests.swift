import Foundation
import Testing
import TestSupport

/// Publishing over HTTP end to end with real processes: an operator signs in to `lamp-ingest serve
/// --live-view --city-keys DIR`, POSTs an override to /api/publish → the document, signed with
/// the city's operator key, is pulled by lampd (held long poll), verified against the pinned
/// operator public key and decides the lamp; the status API then says which version it is.
@Suite("Live view publish end to end: HTTP → lamp-ingest → lampd", .serialized)
struct LiveViewPublishEndToEndTests {
    /// Signs in as `name` and sends `body` to /api/publish, then asks the status API; prints the
    /// two answers as one JSON object (Python's urllib: the script a city would write).
    static let client = #"""
        import http.cookiejar, json, sys, urllib.error, urllib.parse, urllib.request
        base, name, password, body = sys.argv[1:5]
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        opener.open(base + "/login", data=urllib.parse.urlencode({"name": name, "password": password}).encode())
        def call(path, data=None):
            request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
            try:
                with opener.open(request) as response:
                    return response.status, json.load(response)
            except urllib.error.HTTPError as error:
                return error.code, json.load(error)
        status, answer = call("/api/publish", body.encode())
        status_code, rows = call("/api/desired-state/status?device=e2e-pole")
        print(json.dumps({"status": status, "answer": answer, "rows": rows}))
        """#

    @Test func anOverridePublishedOverHTTPDecidesTheLamp() async throws {
        try await UplinkRig.with { rig in
            let directory = rig.directory.path
            let cityKeys = directory + "/city-keys"
            try FileManager.default.createDirectory(atPath: cityKeys, withIntermediateDirectories: true)
            try CityKeyFile.write(seed: CityKeyFile.seed(hex: DownlinkEndToEndTests.operatorSeed), to: cityKeys + "/operator.key")
            let pinned = directory + "/pinned"
            try FileManager.default.createDirectory(atPath: pinned + "/operator", withIntermediateDirectories: true)
            try (DownlinkEndToEndTests.operatorPublicKey + "\n").write(toFile: pinned + "/operator/city.pub", atomically: true, encoding: .utf8)
            try "device,label,latitude,longitude,rated_power_w\ne2e-pole,E2E pole,50.85,4.36,60\n".write(toFile: directory + "/poles.csv", atomically: true, encoding: .utf8)
            let add = try await ChildProcess.run(Products.path("lamp-ingest"), ["user", "add", "olga", "--role", "operator", "--accounts", directory + "/accounts"],
                                                 input: "olga-password\n")
            #expect(add.exitCode == 0, "\(add.stderr)")

            try await rig.startIngest(extraArguments: [
                "--desired-state", directory + "/published.sqlite", "--live-view", "--poles", directory + "/poles.csv",
                "--accounts", directory + "/accounts", "--city-keys", cityKeys])
            let ingest = try #require(rig.ingest)
            #expect(!ingest.transcript.lines.contains { $0.contains("PRIVATE KEY") }, "the key is never logged")
            try await rig.startProxy()
            try await rig.startLampd(uplink: rig.uplinkThroughProxy,
                                     extraConfiguration: "[downlink]\nkeys_dir = \"\(pinned)\"\nlong_poll = \"600s\"\n" + SimulatedDaemon.lampConfiguration,
                                     extraArguments: ["--simulate-synchronised-clock"])
            let daemon = try #require(rig.lampd)
            _ = try await daemon.waitFor("lampd to hold its first pull") { status in (status["downlink"] as? [String: Any]) != nil }

            let body = #"{"device": "e2e-pole", "override": {"level": 63, "hours": 2, "reason": "festival"}}"#
            let started = ContinuousClock.now
            let run = try await ChildProcess.runPython(["-c", Self.client, "http://127.0.0.1:\(rig.ingestPort)", "olga", "olga-password", body])
            let answer = try #require(try run.jsonObject(), "\(run.stdout)\(run.stderr)")
            #expect(answer["status"] as? Int == 200, "\(answer)")
            let published = try #require(((answer["answer"] as? [String: Any])?["published"] as? [[String: Any]])?.first, "\(answer)")
            #expect(published["role"] as? String == "operator" && published["version"] as? Int == 1)
            #expect(((answer["rows"] as? [[String: Any]])?.first?["version"] as? Int) == 1, "\(answer)")

            // The board verified it with the pinned operator key and applied it: the lamp obeys.
            _ = try await daemon.waitFor("lampd to apply the override published over HTTP") { status in
                let last = (status["downlink"] as? [String: Any])?["lastOutcome"] as? [String: Any]
                return last?["outcome"] as? String == "applied" && last?["version"] as? Int == 1
            }
            print("live view publish end to end: sign-in + POST /api/publish → applied on the board in \(ContinuousClock.now - started) (lampctl status polled)")
            let explain = try await rig.lampctl(["lamp", "explain"])
            #expect(explain["source"] as? String == "cityOverride", "\(explain)")
            #expect(explain["targetLevelPercent"] as? Double == 63, "\(explain)")
            let audit = try String(contentsOfFile: directory + "/accounts.audit.log", encoding: .utf8)
            #expect(audit.contains(#""action":"publish""#) && audit.contains(#""user":"olga""#) && audit.contains(#""version":1"#), "\(audit)")
        }
    }

    /// `serve --city-keys` refuses to start without --desired-state or with a key others can read,
    /// saying what to do and never printing the key; `user add --role scheduler` makes a scheduler.
    @Test func cityKeysAreCheckedAtStartAndASchedulerAccountIsMade() async throws {
        let directory = NSTemporaryDirectory() + "city-keys-check-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/keys", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CityKeyFile.write(seed: CityKeyFile.seed(hex: DownlinkEndToEndTests.operatorSeed), to: directory + "/keys/operator.key", mode: 0o644)
        try "device,label,latitude,longitude,rated_power_w\npole-1,P1,50.85,4.36,60\n".write(toFile: directory + "/poles.csv", atomically: true, encoding: .utf8)
        try Data().write(to: URL(fileURLWithPath: directory + "/enrolled-keys"))
        let ingest = Products.path("lamp-ingest")
        let add = try await ChildProcess.run(ingest, ["user", "add", "carol", "--role", "scheduler", "--accounts", directory + "/accounts"], input: "carol-password\n")
        #expect(add.exitCode == 0, "\(add.stderr)")
        let list = try await ChildProcess.run(ingest, ["user", "list", "--accounts", directory + "/accounts"])
        #expect(list.stdout.contains("carol scheduler"), "\(list.stdout)")
        let serve = ["serve", "--db", directory + "/ingest.sqlite", "--keys", directory + "/enrolled-keys", "--port", "0", "--live-view",
                     "--poles", directory + "/poles.csv", "--accounts", directory + "/accounts", "--city-keys", directory + "/keys"]
        let withoutStore = try await ChildProcess.run(ingest, serve)
        #expect(withoutStore.exitCode != 0 && withoutStore.stderr.contains("--city-keys needs --desired-state"), "\(withoutStore.stderr)")
        let readable = try await ChildProcess.run(ingest, serve + ["--desired-state", directory + "/published.sqlite"])
        #expect(readable.exitCode != 0 && readable.stderr.contains("chmod 600"), "\(readable.stderr)")
        #expect(!(readable.stdout + readable.stderr).contains("PRIVATE KEY"))
    }
}
