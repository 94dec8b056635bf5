import ControlProtocol
import Foundation
import Testing
import TestSupport

@Suite("lampctl against a running lampd", .serialized)
struct DaemonCommandTests {
    @Test func statusSpoolAndEventsAnswerFromTheDaemon() async throws {
        try await withSimulatedDaemon { daemon in
            try await daemon.waitUntilSampled()

            // How fast it answers is measured in docs/performance.md (hyperfine), not timed here.
            let text = try await ChildProcess.run(product: "lampctl", ["status", "--socket", daemon.socket])
            #expect(text.exitCode == 0 || text.exitCode == 1, "\(text.stderr)")
            #expect(text.stdout.contains("test-pole  lampd 0.1.0 (simulated board)"), "\(text.stdout)")
            #expect(text.stdout.contains("meter.voltage"))
            #expect(text.stdout.contains("cabinet.door"))
            #expect(text.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(text.stdout)")

            let json = try await ChildProcess.run(product: "lampctl", ["status", "--json", "--socket", daemon.socket])
            let status = try #require(try json.jsonObject())
            #expect(status["device"] as? String == "test-pole")
            #expect(status["board"] as? String == "simulated")
            let healthy = try #require(status["healthy"] as? Bool)
            #expect(json.exitCode == (healthy ? 0 : 1), "exit code follows health: \(status["problems"] ?? "")")
            let spool = try #require(status["spool"] as? [String: Any])
            #expect((spool["pendingReadings"] as? Int ?? 0) > 0)

            let stats = try await ChildProcess.run(product: "lampctl", ["spool", "stats", "--socket", daemon.socket])
            #expect(stats.exitCode == 0)
            #expect(stats.stdout.contains("pending readings"))
            let statsJSON = try await ChildProcess.run(product: "lampctl", ["spool", "stats", "--json", "--socket", daemon.socket])
            #expect(try statsJSON.jsonObject()?["highestSequence"] as? Int ?? 0 > 0)

            let events = try await ChildProcess.run(product: "lampctl", ["events", "--socket", daemon.socket])
            #expect(events.exitCode == 0)
            #expect(events.stdout.contains("agent.started"), "\(events.stdout)")
            let recent = try await ChildProcess.run(product: "lampctl", ["events", "--since", "10m", "--json", "--socket", daemon.socket])
            #expect(recent.stdout.contains(#""kind":"agent.started""#), "\(recent.stdout)")

            let senML = try await ChildProcess.run(product: "lampctl", ["spool", "export", "--socket", daemon.socket])
            #expect(senML.exitCode == 0, "\(senML.stderr)")
            let records = try #require(try JSONSerialization.jsonObject(with: Data(senML.stdout.utf8)) as? [[String: Any]])
            #expect(records.first?["bn"] as? String == "urn:dev:lampd:test-pole:")
            #expect(records.contains { $0["n"] as? String == "meter.voltage" && $0["u"] as? String == "V" && $0["v"] is Double })
            let csv = try await ChildProcess.run(product: "lampctl", ["spool", "export", "--format", "csv", "--since", "1", "--socket", daemon.socket])
            let lines = csv.stdout.split(separator: "\n")
            #expect(lines.first == "sequence,time_utc,type,name,value,unit,quality,severity,message")
            #expect(lines.dropFirst().first?.hasPrefix("2,") == true, "\(csv.stdout.prefix(300))")
        }
    }

    @Test func lampExplainSetAndClear() async throws {
        try await withSimulatedDaemon { daemon in
            try await daemon.waitUntilSampled()

            let explain = try await ChildProcess.run(product: "lampctl", ["lamp", "explain", "--socket", daemon.socket])
            #expect(explain.exitCode == 0, "\(explain.stderr)")
            #expect(explain.stdout.contains("decided by:"), "\(explain.stdout)")
            #expect(explain.stdout.contains("why: "))
            #expect(explain.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(explain.stdout)")
            let json = try #require(try await ChildProcess.run(product: "lampctl", ["lamp", "explain", "--json", "--socket", daemon.socket]).jsonObject())
            let level = try #require(json["levelPercent"] as? Double)
            #expect((0...100).contains(level))

            let set = try await ChildProcess.run(product: "lampctl", ["lamp", "set", "30", "--for", "10m", "--reason", "test", "--socket", daemon.socket])
            #expect(set.exitCode == 0, "\(set.stderr)")
            #expect(set.stdout.contains("lamp overridden to 30 %"), "\(set.stdout)")
            let after = try #require(try await ChildProcess.run(product: "lampctl", ["lamp", "explain", "--json", "--socket", daemon.socket]).jsonObject())
            #expect(after["source"] as? String == "override")
            #expect(after["targetLevelPercent"] as? Double == 30)
            let cleared = try await ChildProcess.run(product: "lampctl", ["lamp", "clear", "--socket", daemon.socket])
            #expect(cleared.stdout.contains("override removed"), "\(cleared.stdout)")
            // Every changing command is audited.
            let events = try await ChildProcess.run(product: "lampctl", ["events", "--json", "--socket", daemon.socket])
            #expect(events.stdout.contains("audit.lamp.set"), "\(events.stdout.suffix(600))")

            let bad = try await ChildProcess.run(product: "lampctl", ["lamp", "set", "130", "--socket", daemon.socket])
            #expect(bad.exitCode == 2)
        }
    }

    @Test func statusGivesTheNextSwitchAsFieldsAndWhoDecidedInWords() async throws {
        try await withSimulatedDaemon { daemon in
            try await daemon.waitUntilSampled()
            let json = try await ChildProcess.run(product: "lampctl", ["status", "--json", "--socket", daemon.socket])
            let lamp = try #require(try json.jsonObject()?["lamp"] as? [String: Any], "\(json.stdout)")
            // A script reads the next switch point's fields, not a preformatted string.
            let next = try #require(lamp["nextSwitch"] as? [String: Any], "\(lamp)")
            #expect((next["time"] as? String)?.hasSuffix("Z") == true, "\(next)")
            #expect((next["levelPercent"] as? Int).map { (0...100).contains($0) } == true, "\(next)")
            #expect(["sunset+00:10", "sunrise-00:10", "23:00", "05:00"].contains(next["label"] as? String ?? ""), "\(next)")
            let source = try #require(lamp["source"] as? String)

            // A technician reads words, not the enum's name (`decided by failSafeOn`).
            let text = try await ChildProcess.run(product: "lampctl", ["status", "--socket", daemon.socket])
            let line = try #require(text.stdout.split(separator: "\n").first { $0.hasPrefix("Lamp ") }, "\(text.stdout)")
            #expect(line.hasSuffix("decided by \(LampDecisionSource.words(source))"), "\(line)")
            #expect(!text.stdout.contains("failSafe"), "\(text.stdout)")
            #expect(text.stdout.contains("next switch: "), "\(text.stdout)")
            let explain = try await ChildProcess.run(product: "lampctl", ["lamp", "explain", "--socket", daemon.socket])
            #expect(explain.stdout.contains("decided by: \(LampDecisionSource.words(source))"), "\(explain.stdout)")
        }
    }

    @Test func spoolExportSinceTakesATimeOrASequenceNumber() async throws {
        try await withSimulatedDaemon { daemon in
            try await daemon.waitUntilSampled()
            func export(_ since: String) async throws -> [[String: Any]] {
                let result = try await ChildProcess.run(product: "lampctl", ["spool", "export", "--since", since, "--socket", daemon.socket])
                #expect(result.exitCode == 0, "--since \(since): \(result.stderr)")
                return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], "\(result.stdout)")
            }
            // An age: everything of the last hour is everything this lampd recorded.
            let lastHour = try await export("1h")
            #expect(!lastHour.isEmpty)
            #expect(lastHour.count >= (try await export("0")).count - 2, "the daemon keeps sampling between the two calls")
            // A time: nothing is recorded in the future.
            #expect(try await export("2099-01-01T00:00:00Z").isEmpty)
            #expect(!(try await export("2020-01-01T00:00:00Z")).isEmpty)
            // A bad one is a usage error that says what to write.
            let bad = try await ChildProcess.run(product: "lampctl", ["spool", "export", "--since", "yesterday", "--socket", daemon.socket])
            #expect(bad.exitCode == 2)
            #expect(bad.stderr.contains("--since must be a sequence number, an age such as 10m or a time such as 2026-12-06T03:00:00Z"), "\(bad.stderr)")
        }
    }

    @Test func eventsFollowKeepsPrintingUntilStopped() async throws {
        try await withSimulatedDaemon { daemon in
            try await daemon.waitUntilSampled()
            // Run it the way a technician does and end it with Ctrl-C (SIGINT).
            let follow = try ChildProcess(executable: Products.path("lampctl"),
                                          arguments: ["events", "--follow", "--json", "--socket", daemon.socket])
            let first = try await follow.transcript.wait(forLineContaining: #""kind":"agent.started""#)
            // It keeps following: an event recorded after the backlog arrives too.
            let set = try await ChildProcess.run(product: "lampctl", ["lamp", "set", "30", "--for", "1m", "--reason", "follow", "--socket", daemon.socket])
            #expect(set.exitCode == 0, "\(set.stderr)")
            try await follow.transcript.wait(forLineContaining: #""kind":"audit.lamp.set""#)
            #expect(follow.isRunning, "still following after the backlog and a new event")
            follow.interrupt()
            let exit = try await follow.waitForExit()
            #expect(!follow.isRunning, "Ctrl-C ends --follow (\(exit))")
            #expect(follow.transcript.lines.first == first, "the backlog comes first")
            let event = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
            #expect(event["kind"] as? String == "agent.started" && event["serial"] as? Int == 1)
        }
    }

    @Test func aMissingDaemonExitsWith3AndSaysWhatToCheck() async throws {
        let text = try await ChildProcess.run(product: "lampctl", ["status", "--socket", "/nonexistent/control.sock"])
        #expect(text.exitCode == 3)
        #expect(text.stderr.contains("lampd is not running or its socket /nonexistent/control.sock is missing — check `systemctl status lampd`"), "\(text.stderr)")
        let json = try await ChildProcess.run(product: "lampctl", ["spool", "stats", "--json", "--socket", "/nonexistent/control.sock"])
        #expect(json.exitCode == 3)
        let error = try #require(try json.jsonObject()?["error"] as? [String: Any])
        #expect(error["code"] as? String == "daemon-unreachable")
    }

    @Test func aBadSinceIsAUsageError() async throws {
        let result = try await ChildProcess.run(product: "lampctl", ["events", "--since", "yesterday", "--socket", "/nonexistent"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("--since must be an event number or an age"))
    }
}
