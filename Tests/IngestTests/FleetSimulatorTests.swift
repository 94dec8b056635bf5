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
        let quiet = try await Self.plan(["--boards", "7", "--minutes", "5", "--door-every", "0", "--alarm-every", "0"])
        #expect(quiet == ["batches": 35, "readings": 7 * 5 * 6, "events": 0, "records": 210])
        // An alarm every minute: an urgent batch of one event beside each regular batch.
        let alarms = try await Self.plan(["--boards", "7", "--minutes", "5", "--door-every", "0", "--alarm-every", "1"])
        #expect(alarms == ["batches": 70, "readings": 210, "events": 35, "records": 245])
        // The door opens every minute but the last, and closes the minute after: 2 × 4 events a board.
        let doors = try await Self.plan(["--boards", "7", "--minutes", "5", "--door-every", "1", "--alarm-every", "0"])
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
              (["run", "--url", "http://127.0.0.1:99999/v1/batches"], "1…65535"),
              (["run", "--url", "ftp://127.0.0.1/v1/batches"], "not supported"),
              (["run", "--url", "http://user:secret@127.0.0.1:8080/v1/batches"], "user name or password"),
              (["run", "--url", "http://127.0.0.1:8080/", "--concurrency", "0"], "--concurrency"),
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
}
