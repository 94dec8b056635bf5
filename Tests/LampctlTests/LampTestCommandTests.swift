import Foundation
import Testing
import TestSupport

@Suite("lampctl lamp test against a running lampd", .serialized)
struct LampTestCommandTests {
    func explain(_ daemon: SimulatedDaemon) async throws -> [String: Any] {
        try #require(try await ChildProcess.run(product: "lampctl", ["lamp", "explain", "--json", "--socket", daemon.socket]).jsonObject())
    }

    @Test func theLampFollowsTheRampThenTheProgramDecidesAgain() async throws {
        try await withSimulatedDaemon { daemon in
            try await daemon.waitUntilSampled()
            let before = try await explain(daemon)

            let run = try await ChildProcess.run(product: "lampctl", ["lamp", "test", "--step-seconds", "1", "--socket", daemon.socket])
            #expect(run.exitCode == 0, "\(run.stdout)\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "lamp test: 0 → 25 → 50 → 75 → 100 → 0 %, 1 s each (6 s)", "\(run.stdout)")
            // The simulated board's relay and PWM read back each level as it is shown.
            for expected in ["step 1/6    0 %   output reads back off",
                             "step 2/6   25 %   output reads back on at 25 %",
                             "step 3/6   50 %   output reads back on at 50 %",
                             "step 4/6   75 %   output reads back on at 75 %",
                             "step 5/6  100 %   output reads back on at 100 %",
                             "step 6/6    0 %   output reads back off"] {
                #expect(lines.contains(expected), "missing \"\(expected)\" in:\n\(run.stdout)")
            }
            #expect(lines.last?.hasPrefix("done: back to the schedule") == true, "\(run.stdout)")
            #expect(lines.allSatisfy { $0.count <= 80 })

            let after = try await explain(daemon)
            #expect(after["source"] as? String == before["source"] as? String)
            #expect(after["targetLevelPercent"] as? Double == before["targetLevelPercent"] as? Double)
            #expect(after["override"] == nil)
            let test = try #require(after["lampTest"] as? [String: Any])
            #expect(test["state"] as? String == "finished")

            let events = try await ChildProcess.run(product: "lampctl", ["events", "--json", "--limit", "200", "--socket", daemon.socket])
            #expect(events.stdout.contains(#""kind":"audit.lamp.test""#), "the test is audited")
            #expect(events.stdout.contains(#""kind":"lamp.test-finished""#))
        }
    }

    @Test func lampClearStopsARunningTest() async throws {
        try await withSimulatedDaemon { daemon in
            try await daemon.waitUntilSampled()
            let before = try await explain(daemon)

            let started = try await ChildProcess.run(product: "lampctl", ["lamp", "test", "--no-wait", "--step-seconds", "5", "--json", "--socket", daemon.socket])
            #expect(started.exitCode == 0, "\(started.stdout)\(started.stderr)")
            #expect(try started.jsonObject()?["state"] as? String == "running")
            let again = try await ChildProcess.run(product: "lampctl", ["lamp", "test", "--no-wait", "--socket", daemon.socket])
            #expect(again.exitCode == 1)
            #expect(again.stderr.contains("is still running"), "\(again.stderr)")
            let during = try await explain(daemon)
            #expect(during["source"] as? String == "override")
            let text = try await ChildProcess.run(product: "lampctl", ["lamp", "explain", "--socket", daemon.socket])
            #expect(text.stdout.contains("lamp test: step 1 of 6 by "), "\(text.stdout)")

            let cleared = try await ChildProcess.run(product: "lampctl", ["lamp", "clear", "--socket", daemon.socket])
            #expect(cleared.exitCode == 0)
            let after = try await explain(daemon)
            let test = try #require(after["lampTest"] as? [String: Any])
            #expect(test["state"] as? String == "cancelled")
            #expect((test["endReason"] as? String)?.contains("override cleared") == true)
            #expect(after["source"] as? String == before["source"] as? String)
            #expect(after["targetLevelPercent"] as? Double == before["targetLevelPercent"] as? Double)
        }
    }

    @Test func anOverrideDuringTheTestEndsIt() async throws {
        try await withSimulatedDaemon { daemon in
            try await daemon.waitUntilSampled()
            _ = try await ChildProcess.run(product: "lampctl", ["lamp", "test", "--no-wait", "--step-seconds", "5", "--socket", daemon.socket])
            let set = try await ChildProcess.run(product: "lampctl", ["lamp", "set", "40", "--for", "10m", "--socket", daemon.socket])
            #expect(set.exitCode == 0)
            // Not a wait for an event: time must pass beyond the step (5 s) that would overwrite it.
            try await Task.sleep(for: .seconds(6))
            let after = try await explain(daemon)
            #expect((after["lampTest"] as? [String: Any])?["state"] as? String == "cancelled")
            #expect(after["targetLevelPercent"] as? Double == 40, "the test's later steps do not overwrite the technician's override")
        }
    }

    @Test func aStepOutsideOneToSixtySecondsIsAUsageError() async throws {
        let result = try await ChildProcess.run(product: "lampctl", ["lamp", "test", "--step-seconds", "0", "--socket", "/nonexistent"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("--step-seconds must be 1 to 60"), "\(result.stderr)")
    }
}
