import Foundation
import Testing
import TestSupport

/// `lamp-fleet` (docs/fleet-simulator.md) against a real `lamp-ingest serve` on SQLite.
@Suite("lamp-fleet simulator", .serialized)
struct FleetSimulatorTests {
    static func fleet(_ arguments: [String]) async throws -> ChildProcess.Output {
        try await ChildProcess.run(product: "lamp-fleet", arguments)
    }

    static func plan(_ arguments: [String]) async throws -> [String: Int] {
        let output = try await fleet(["plan"] + arguments)
        #expect(output.exitCode == 0, "\(output.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Int])
    }

    @Test("the plan's totals follow from the options")
    func planArithmetic() async throws {
        // The city schedule: each board says its lamp's level at minute 0 (one lamp.level event).
        let quiet = try await Self.plan(["--boards", "7", "--minutes", "5", "--door-every", "0", "--alarm-every", "0"])
        #expect(quiet == ["batches": 35, "readings": 7 * 5 * 6, "events": 7, "records": 217])
        let unscheduled = try await Self.plan(["--boards", "7", "--minutes", "5", "--door-every", "0", "--alarm-every", "0", "--schedule", "none"])
        #expect(unscheduled == ["batches": 35, "readings": 7 * 5 * 6, "events": 0, "records": 210])
        // A day from noon UTC in Brussels: off at noon, on at sunset+10 min, 50 % at 22:00, 100 % at 05:00, off at sunrise−10 min.
        let day = try await Self.plan(["--boards", "3", "--minutes", "1440", "--door-every", "0", "--alarm-every", "0", "--start-time", "1796558400"])
        #expect(day == ["batches": 3 * 1440, "readings": 3 * 1440 * 6, "events": 3 * 5, "records": 3 * 1440 * 6 + 15])
        // An alarm every minute: an urgent batch of one event beside each regular batch.
        let alarms = try await Self.plan(["--boards", "7", "--minutes", "5", "--door-every", "0", "--alarm-every", "1", "--schedule", "none"])
        #expect(alarms == ["batches": 70, "readings": 210, "events": 35, "records": 245])
        // The door opens every minute but the last, and closes the minute after: 2 × 4 events a board.
        let doors = try await Self.plan(["--boards", "7", "--minutes", "5", "--door-every", "1", "--alarm-every", "0", "--schedule", "none"])
        #expect(doors == ["batches": 35, "readings": 210, "events": 7 * 8, "records": 266])
        // The same seed, the same fleet; another seed, other content.
        let first = try await Self.plan(["--boards", "40", "--minutes", "30", "--door-every", "7", "--alarm-every", "11", "--seed", "5"])
        #expect(try await Self.plan(["--boards", "40", "--minutes", "30", "--door-every", "7", "--alarm-every", "11", "--seed", "5"]) == first)
        #expect(try await Self.plan(["--boards", "40", "--minutes", "30", "--door-every", "7", "--alarm-every", "11", "--seed", "6"]) != first)
        let bad = try await Self.fleet(["plan", "--boards", "0"])
        #expect(bad.exitCode != 0 && bad.stderr.contains("--boards"))
    }

    @Test("validation errors exit 2 (usage), like lamp-ingest; a URL the transport would trap on is one of them",
          arguments: [
              (["plan", "--boards", "0"], "--boards"),
              (["plan", "--no-such-option"], "no-such-option"),
              (["plan", "--center", "95,4"], "--center"),
              (["plan", "--center", "nan,4"], "--center"),
              (["poles", "--out", "/dev/null", "--spacing-m", "inf"], "--spacing-m"),
              (["run", "--url", "http://127.0.0.1:99999/v1/batches"], "1…65535"),
              (["run", "--url", "ftp://127.0.0.1/v1/batches"], "not supported"),
              (["run", "--url", "http://user:secret@127.0.0.1:8080/v1/batches"], "user name or password"),
              (["run", "--url", "http://127.0.0.1:8080/", "--concurrency", "0"], "--concurrency"),
              (["run", "--url", "http://127.0.0.1:8080/", "--pull-every-minutes", "1"], "--city-keys"),
              (["run", "--url", "http://127.0.0.1:8080/", "--pull-every-minutes", "20000", "--city-keys", "/tmp"], "--pull-every-minutes"),
          ])
    func usageErrorsExitTwo(arguments: [String], expected: String) async throws {
        let result = try await Self.fleet(arguments)
        #expect(result.exitCode == 2, "\(arguments): exit \(result.exitCode) \(result.stderr)")
        #expect(result.stderr.contains(expected), "\(result.stderr)")
    }

    @Test("50 boards, offline backlogs and lost acknowledgements: every record stored exactly once, none refused")
    func exactlyOnce() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = directory.appendingPathComponent("fleet-keys").path
        let db = directory.appendingPathComponent("ingest.sqlite").path
        let options = ["--boards", "50", "--minutes", "6", "--seed", "3", "--offline-percent", "20", "--offline-minutes", "3",
                       "--lost-ack-percent", "5", "--door-every", "20", "--alarm-every", "25"]
        let expected = try await Self.plan(options)
        #expect(try #require(expected["events"]) > 0)
        #expect(try await Self.fleet(["keys", "--out", keys] + options).exitCode == 0)

        let report: [String: Any] = try await ChildProcess.with(
            executable: Products.path("lamp-ingest"), arguments: ["serve", "--db", db, "--keys", keys, "--port", "0"]
        ) { server in
            let port = try await CommandLineTests.listeningPort(server)
            let run = try await Self.fleet(["run", "--url", "http://127.0.0.1:\(port)/v1/batches", "--minute-ms", "100",
                                            "--concurrency", "16", "--json"] + options)
            #expect(run.exitCode == 0, "\(run.stdout)\n\(run.stderr)")
            return try #require(try run.jsonObject())
        }
        #expect(report["refused"] as? Int == 0)
        #expect(report["gaps"] as? Int == 0)
        let lost = try #require(report["lostAcknowledgements"] as? Int)
        #expect(lost > 0)
        #expect(report["duplicates"] as? Int == lost, "every resent batch is answered as a duplicate")
        let stored = try #require(report["stored"] as? [String: Int])
        #expect(stored["batches"] == expected["batches"] && stored["readings"] == expected["readings"] && stored["events"] == expected["events"])
        #expect(report["ackLatencyP99Milliseconds"] is Double)

        // The store itself, counted by lamp-ingest.
        let status = try await ChildProcess.run(product: "lamp-ingest", ["status", "--db", db, "--json"])
        let devices = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])
        #expect(devices.count == 50)
        #expect(devices.reduce(0) { $0 + ($1["records"] as? Int ?? 0) } == expected["records"])
        #expect(devices.reduce(0) { $0 + ($1["batches"] as? Int ?? 0) } == expected["batches"])
        #expect(devices.allSatisfy { $0["gaps"] as? Int == 0 })
    }

    /// A fleet of `boards` whose boards pin the city operator key, against `serve --desired-state`
    /// where an override until two hours from now was published for every board (the boards'
    /// clock starts now, so expiry is checked against a true clock): the plan, the run's report
    /// and `downlink-status`'s rows.
    static func pullRun(boards: Int, minutes: Int, _ runArguments: [String]) async throws
        -> (expected: [String: Int], report: [String: Any], rows: [[String: Any]])
    {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let (keys, db, store, devices, cityKey, cityKeys) = (path("fleet-keys"), path("ingest.sqlite"), path("published.sqlite"),
                                                             path("devices.txt"), path("operator.key"), path("city-keys"))
        try FleetCityKey.write(keyPath: cityKey, keysDirectory: cityKeys)
        let options = ["--boards", "\(boards)", "--minutes", "\(minutes)", "--offline-percent", "0", "--lost-ack-percent", "0",
                       "--door-every", "0", "--alarm-every", "0", "--schedule", "none", "--start-time", "\(Int(Date().timeIntervalSince1970))"]
        let expected = try await Self.plan(options)
        #expect(try await Self.fleet(["keys", "--out", keys] + options).exitCode == 0)
        try (0..<boards).map { "fleet-\($0)" }.joined(separator: "\n").write(toFile: devices, atomically: true, encoding: .utf8)
        let publish = try await ChildProcess.run(product: "lamp-ingest", [
            "publish", "--key", cityKey, "--devices", devices, "--desired-state", store, "--override", "30",
            "--until", Date().addingTimeInterval(7200).formatted(.iso8601)])
        #expect(publish.exitCode == 0, "\(publish.stdout)\(publish.stderr)")
        let report: [String: Any] = try await ChildProcess.with(
            executable: Products.path("lamp-ingest"), arguments: ["serve", "--db", db, "--keys", keys, "--port", "0", "--desired-state", store]
        ) { server in
            let port = try await CommandLineTests.listeningPort(server)
            let run = try await Self.fleet(["run", "--url", "http://127.0.0.1:\(port)/v1/batches", "--minute-ms", "100",
                                            "--city-keys", cityKeys, "--json"] + runArguments + options)
            #expect(run.exitCode == 0, "\(run.stdout)\n\(run.stderr)")
            return try #require(try run.jsonObject())
        }
        let status = try await ChildProcess.run(product: "lamp-ingest", ["downlink-status", "--desired-state", store, "--ingest-store", db, "--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]], "\(status.stdout)\(status.stderr)")
        return (expected, report, rows)
    }

    @Test("boards pull a published override, verify it with the pinned city key and report downlink.applied; the store holds the plan's records plus those events")
    func pullAndApply() async throws {
        let (expected, report, rows) = try await Self.pullRun(boards: 6, minutes: 4, ["--pull-every-minutes", "2"])
        // Every board pulls twice (every 2 of 4 minutes): the first pull applies version 1, the second finds nothing new.
        #expect(report["pulls"] as? Int == 12)
        #expect(report["pullFailures"] as? Int == 0)
        #expect(report["downlinkApplied"] as? Int == 6)
        #expect(report["downlinkRefused"] as? Int == 0)
        #expect(report["appliedAcknowledgedP99Seconds"] is Double)
        let stored = try #require(report["stored"] as? [String: Int])
        #expect(stored["batches"] == expected["batches"] && stored["readings"] == expected["readings"])
        #expect(stored["events"] == expected["events"]! + 6, "the plan's events plus one downlink.applied a board")
        #expect(rows.count == 6 && rows.allSatisfy { $0["status"] as? String == "applied" }, "\(rows)")
    }

    @Test("an override longer than the boards' max_override_duration is refused once (downlink.refused, overrideTooLong) and downlink-status says so")
    func pullAndRefuse() async throws {
        let (_, report, rows) = try await Self.pullRun(boards: 2, minutes: 3, ["--pull-every-minutes", "1", "--max-override-hours", "1"])
        // Pulled every minute, refused once: the same document served again is not refused again.
        #expect(report["pulls"] as? Int == 6)
        #expect(report["downlinkApplied"] as? Int == 0)
        #expect(report["downlinkRefused"] as? Int == 2)
        #expect(rows.count == 2 && rows.allSatisfy { $0["status"] as? String == "refused: overrideTooLong" }, "\(rows)")
    }

    @Test("a night of the city schedule: level events with their reason, a meter consistent with them, and lamp-ingest energy's figures")
    func scheduledNight() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = directory.appendingPathComponent("fleet-keys").path
        let poles = directory.appendingPathComponent("poles.csv").path
        let db = directory.appendingPathComponent("ingest.sqlite").path
        // 2026-12-06 15:00 UTC … 2026-12-07 08:00 UTC in Brussels (sunset about 15:39, sunrise about 07:30 UTC).
        let start = 1_796_569_200
        let options = ["--boards", "2", "--minutes", "1020", "--seed", "9", "--offline-percent", "0", "--lost-ack-percent", "0",
                       "--door-every", "0", "--alarm-every", "0", "--start-time", "\(start)"]
        #expect(try await Self.fleet(["keys", "--out", keys] + options).exitCode == 0)
        #expect(try await Self.fleet(["poles", "--out", poles, "--spacing-m", "25"] + options).exitCode == 0)
        try await ChildProcess.with(
            executable: Products.path("lamp-ingest"), arguments: ["serve", "--db", db, "--keys", keys, "--port", "0"]
        ) { server in
            let port = try await CommandLineTests.listeningPort(server)
            let run = try await Self.fleet(["run", "--url", "http://127.0.0.1:\(port)/v1/batches", "--minute-ms", "0", "--json"] + options)
            #expect(run.exitCode == 0, "\(run.stdout)\n\(run.stderr)")
        }
        let export = try await ChildProcess.run(product: "lamp-ingest", ["export", "--db", db, "--device", "fleet-0"])
        let records = try #require(try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [[String: Any]])
        func named(_ channel: String) -> [[String: Any]] { records.filter { ($0["n"] as? String) == "urn:dev:lampd:fleet-0:\(channel)" } }
        let levels = named("lamp.level/event/lamp.level")
        #expect(levels.compactMap { $0["val"] as? Double } == [0, 100, 50, 100, 0])
        #expect(levels.allSatisfy { ($0["vs"] as? String)?.contains("program 'city-default'") == true }, "\(levels)")
        #expect((levels[2]["vs"] as? String)?.hasSuffix("switch point 22:00 → 50 %") == true)
        // 22:00 in the centre's mean solar zone (UTC + 4.35°/15 h rounded: UTC+0): 22:00 UTC.
        #expect(levels[2]["t"] as? Double == Double(start + 7 * 3_600))
        // The register, read at second 4 of each minute, grows by 56 s of this minute's power and
        // 4 s of the next's (the level changes on the minute).
        let power = named("meter.active_power").compactMap { $0["v"] as? Double }
        let energy = named("meter.energy").compactMap { $0["v"] as? Double }
        #expect(power.count == 1020 && energy.count == 1020)
        for minute in 0..<1019 where abs(energy[minute + 1] - energy[minute] - power[minute] * 56 - power[minute + 1] * 4) > 1e-6 {
            Issue.record("minute \(minute): the register grew by \(energy[minute + 1] - energy[minute]) J at \(power[minute]) W")
            break
        }
        // lamp-ingest energy: fleet-0 lit from sunset+10 to sunrise−10, 7 h of it at 50 %.
        let report = try await ChildProcess.run(
            product: "lamp-ingest",
            ["energy", "--db", db, "--poles", poles, "--from", "\(start)", "--to", "\(start + 1020 * 60)", "--device", "fleet-0", "--csv"])
        #expect(report.exitCode == 0, "\(report.stderr)")
        let lines = report.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(lines.count == 3)
        let header = try #require(lines.first)
        let pole = try #require(lines.dropFirst().first)
        func value(_ column: String) throws -> Double {
            let index = try #require(header.firstIndex(of: column))
            return try #require(Double(pole[index + 1]))
        }
        // (+1: the label "Fleet street 1, 1" is one quoted field holding a comma.)
        let rated = try value("rated_power_w")
        let burning = try value("burning_h")
        #expect((40...120).contains(rated))
        #expect(burning > 15.4 && burning < 15.7)
        #expect(try value("unknown_level_h") == 0)
        // Measured: rated × (burning − 3.5 h at half power) + 0.5 W stand-by over the 17 h.
        #expect(abs(try value("measured_kwh") - (rated * (burning - 3.5) + 0.5 * 17) / 1_000) < 0.002)
        #expect(abs(try value("dimming_saving_kwh") - (rated * 3.5 - 0.5 * 17) / 1_000) < 0.002)
    }
}
