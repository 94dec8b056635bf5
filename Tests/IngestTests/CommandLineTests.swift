import Foundation
import Ingest
import Synchronization
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
import Uplink
#endif

/// The built `lamp-ingest` binary, run as a child process the way an operator runs it.
@Suite("lamp-ingest command line", .serialized)
struct CommandLineTests {
    /// Runs `lamp-ingest arguments` to completion (these commands finish in well under a second).
    static func run(_ arguments: [String]) async throws -> ChildProcess.Output {
        try await ChildProcess.run(product: "lamp-ingest", arguments)
    }

    @Test("enroll, serve on port 0, POST a batch, status and export")
    func operatorFlow() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = directory.appendingPathComponent("enrolled-keys").path
        let db = directory.appendingPathComponent("ingest.sqlite").path
        var board = try TestBoard()

        let enrolled = try await Self.run(["enroll", "--keys", keys, "--device", board.device, "--public-key", board.publicKey.base64])
        #expect(enrolled.exitCode == 0)
        #expect(enrolled.stdout.contains(board.publicKey.kidHex))
        let again = try await Self.run(["enroll", "--keys", keys, "--device", board.device, "--public-key", board.publicKey.base64])
        #expect(again.exitCode == 2)
        #expect(again.stderr.contains("already enrolled"))
        let badKey = try await Self.run(["enroll", "--keys", keys, "--device", "pole-7", "--public-key", "not-a-key"])
        #expect(badKey.exitCode == 2)
        #expect(badKey.stderr.contains("base64"))

        try await ChildProcess.with(executable: Products.path("lamp-ingest"), arguments: ["serve", "--db", db, "--keys", keys, "--port", "0"]) { server in
            let port = try await Self.listeningPort(server)

            try await Self.post(try board.next(count: 5), port: port)
        }

        let status = try await Self.run(["status", "--db", db, "--json"])
        #expect(status.exitCode == 0)
        let devices = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])
        #expect(devices.first?["device"] as? String == "pole-0042")
        #expect(devices.first?["batches"] as? Int == 1)
        #expect(devices.first?["records"] as? Int == 5)

        let export = try await Self.run(["export", "--db", db, "--device", "pole-0042"])
        #expect(export.exitCode == 0)
        let records = try #require(try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [[String: Any]])
        #expect(records.count == 5)

        let missing = try await Self.run(["status", "--db", directory.appendingPathComponent("none.sqlite").path])
        #expect(missing.exitCode == 2)
        let badTime = try await Self.run(["export", "--db", db, "--since", "yesterday"])
        #expect(badTime.exitCode == 2)
        let usage = try await Self.run(["serve", "--db", db])
        #expect(usage.exitCode == 2)
    }

    @Test("PostgreSQL by URL: serve refuses an unmigrated database; migrate, serve, status and export")
    func postgresFlow() async throws {
        guard let cluster = try TestPostgres.cluster() else { return }
        let name = "lampd_test_cli_\(UInt32.random(in: 0...UInt32.max))"
        try await TestPostgres.admin(cluster, "CREATE DATABASE \(name)")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            try await Self.postgresFlow(url: TestPostgres.url(cluster.with(database: name)), directory: directory)
        } catch {
            try? await TestPostgres.admin(cluster, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        try await TestPostgres.admin(cluster, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    static func postgresFlow(url: String, directory: URL) async throws {
        var board = try TestBoard()
        let keys = try enrolledKeysFile([board], in: directory)
        let unmigrated = try await run(["serve", "--store", url, "--keys", keys, "--port", "0"])
        #expect(unmigrated.exitCode == 1)
        #expect(unmigrated.stderr.contains("lamp-ingest migrate"), "\(unmigrated.stderr)")
        #expect(!unmigrated.stderr.contains(url), "the password is printed")
        let migrated = try await run(["migrate", "--store", url])
        #expect(migrated.exitCode == 0 && migrated.stdout.contains("applied schema version 1"), "\(migrated.stderr)")
        // The URL from the environment, as a unit's EnvironmentFile= gives it.
        var environment = ProcessInfo.processInfo.environment
        environment["LAMP_INGEST_STORE"] = url
        try await ChildProcess.with(
            executable: Products.path("lamp-ingest"), arguments: ["serve", "--keys", keys, "--port", "0"], environment: environment
        ) { server in
            try await post(try board.next(count: 5), port: try await listeningPort(server))
        }
        let status = try await run(["status", "--store", url, "--json"])
        let devices = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])
        #expect(devices.first?["records"] as? Int == 5)
        let export = try await run(["export", "--store", url])
        #expect((try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [[String: Any]])?.count == 5)
    }

    @Test("a replica killed with kill -9 while boards send: after their retries to the other, every reading stored once")
    func replicaKilled() async throws {
        try await TestPostgres.withDatabase { location in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            var boards = try (0..<4).map { try TestBoard(device: "pole-\($0)", seedByte: UInt8(20 + $0)) }
            let perBoard = 25
            let chains = try boards.indices.map { i in try (0..<perBoard).map { _ in try boards[i].next(count: 5) } }
            let keys = try enrolledKeysFile(boards, in: directory)
            let serve = ["serve", "--store", TestPostgres.url(location), "--keys", keys, "--port", "0"]
            try await ChildProcess.with(executable: Products.path("lamp-ingest"), arguments: serve) { first in
                let firstPort = try await Self.listeningPort(first)
                try await ChildProcess.with(executable: Products.path("lamp-ingest"), arguments: serve) { second in
                    let secondPort = try await Self.listeningPort(second)
                    // The balancer: every board sends to the first replica until it is killed.
                    let target = Balancer(port: firstPort)
                    let (acks, acked) = AsyncStream.makeStream(of: Void.self)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for chain in chains {
                            group.addTask {
                                for batch in chain {
                                    try await Self.deliver(batch, to: { target.port.withLock { $0 } })
                                    acked.yield()
                                }
                            }
                        }
                        group.addTask {
                            var iterator = acks.makeAsyncIterator()
                            for _ in 0..<(chains.count * perBoard / 3) { _ = await iterator.next() }
                            first.kill()
                            target.port.withLock { $0 = secondPort }
                        }
                        try await group.waitForAll()
                    }
                }
            }
            let store = PostgresBatchStore(location: location, poolSize: 1, logger: TestPostgres.logger)
            let status = try await store.status()
            await store.close()
            #expect(status.count == boards.count)
            for device in status {
                #expect(device.batches == perBoard && device.records == perBoard * 5 && device.gaps == 0, "\(device)")
            }
        }
    }

    /// Where a round-robin balancer sends now: the replica that is still alive.
    final class Balancer: Sendable {
        let port: Mutex<Int>
        init(port: Int) { self.port = Mutex(port) }
    }

    /// Sends `batch` until acknowledged, to whatever port `port()` names at each attempt.
    static func deliver(_ batch: SignedBatch, to port: @Sendable () -> Int) async throws {
        for _ in 0..<1000 {
            var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port())/v1/batches")))
            request.httpMethod = "POST"
            request.setValue("application/cose; cose-type=\"cose-sign1\"", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(batch.bytes)
            if let (_, response) = try? await URLSession.shared.data(for: request),
                let status = (response as? HTTPURLResponse)?.statusCode
            {
                if status == 200 { return }
                try #require(status >= 500, "refused with \(status)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("batch \(batch.sequence) never acknowledged")
    }

    /// POSTs `batch` to the server on `port` and expects it acknowledged.
    static func post(_ batch: SignedBatch, port: Int) async throws {
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/v1/batches")))
        request.httpMethod = "POST"
        request.setValue("application/cose; cose-type=\"cose-sign1\"", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(batch.bytes)
        let (body, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: body, as: UTF8.self).contains(hexString(batch.hash)))
    }

    /// Waits for the server's `listening on HOST:PORT` line and returns the port.
    static func listeningPort(_ server: ChildProcess) async throws -> Int {
        let line = try await server.transcript.wait(for: "lamp-ingest's \"listening on HOST:PORT\"") {
            $0.hasPrefix("listening on ") && $0.split(separator: ":").last.flatMap({ Int($0) }) != nil
        }
        return try #require(line.split(separator: ":").last.flatMap { Int($0) })
    }
}
