import Foundation
import Ingest
import Testing
import TestSupport

@testable import Uplink

/// The live view across replicas: each batch a replica stores is announced (NOTIFY at commit) and
/// every replica following the database loads it (docs/live-view.md, "Several replicas").
@Suite("lamp-ingest replicas announce their batches")
struct ReplicaFeedTests {
    /// What a follower saw: each (re)established LISTEN, and each announced batch.
    enum Seen: Sendable, Equatable {
        case listening
        case batch(device: String, sequence: UInt64, gap: Bool)
    }

    /// Follows `store` in a task of its own; what it sees goes to the returned stream, which ends
    /// (failing the wait) if nothing more came within the hang guard.
    static func follow(_ store: PostgresBatchStore) -> (AsyncStream<Seen>, Task<Void, Never>) {
        let (stream, continuation) = AsyncStream<Seen>.makeStream()
        let guardTask = Task {
            try? await Task.sleep(for: HangGuard.duration)
            continuation.finish()
        }
        let task = Task {
            defer { guardTask.cancel() }
            await store.followStoredBatches(
                retryAfter: .milliseconds(200), onListening: { continuation.yield(.listening) },
                onBatch: { device, batch, acceptance, _ in
                    guard case .store(let gap, _) = acceptance else { return }
                    continuation.yield(.batch(device: device, sequence: batch.sequence, gap: gap != nil))
                })
            continuation.finish()
        }
        return (stream, task)
    }

    @Test("the notice is `device kid sequence`, read from the right; anything else is no notice")
    func noticePayload() {
        let notice = StoredBatchNotice(device: "pole 17", kid: "0a1b", sequence: 42)
        #expect(StoredBatchNotice(payload: notice.payload) == notice)
        for bad in ["", "pole", "pole 0a1b", "pole 0a1b x", "pole zz 1", " 0a1b 1", "pole 0a1b 99999999999999999999"] {
            #expect(StoredBatchNotice(payload: bad) == nil, "\(bad)")
        }
    }

    @Test("a batch stored through replica A reaches replica B's follower, once; a duplicate is not announced")
    func batchReachesOtherReplica() async throws {
        var board = try TestBoard()
        let batches = try (0..<3).map { _ in try board.next(count: 2) }
        try await ReplicaTests.withReplicas(2, enrolling: [board]) { replicas in
            let follower = try #require(replicas[1].store as? PostgresBatchStore)
            let (seen, task) = Self.follow(follower)
            defer { task.cancel() }
            var iterator = seen.makeAsyncIterator()
            #expect(await iterator.next() == .listening)
            _ = try await replicas[0].receive(ReplicaTests.incoming(batches[0]))
            _ = try await replicas[0].receive(ReplicaTests.incoming(batches[1]))
            #expect(try await replicas[1].receive(ReplicaTests.incoming(batches[0])).status.rawValue == "duplicate")
            _ = try await replicas[1].receive(ReplicaTests.incoming(batches[2]))
            var got: [Seen] = []
            for _ in 0..<3 { got.append(try #require(await iterator.next())) }
            let device = board.identity.deviceID.rawValue
            #expect(got == (1...3).map { .batch(device: device, sequence: $0, gap: false) })
        }
    }

    @Test("after a PostgreSQL restart the follower listens again (the caller rebuilds) and gets the next batches")
    func followsAcrossRestart() async throws {
        var board = try TestBoard()
        let batches = try (0..<2).map { _ in try board.next(count: 1) }
        try await TestPostgres.withOwnCluster { cluster, restart in
            try await ReplicaTests.withReplicas(1, enrolling: [board], cluster: cluster) { replicas in
                let follower = try #require(replicas[0].store as? PostgresBatchStore)
                let (seen, task) = Self.follow(follower)
                defer { task.cancel() }
                var iterator = seen.makeAsyncIterator()
                #expect(await iterator.next() == .listening)
                _ = try await ReplicaTests.deliver(batches[0], to: replicas, firstReplica: 0)
                #expect(await iterator.next() == .batch(device: board.identity.deviceID.rawValue, sequence: 1, gap: false))
                try await restart()
                #expect(await iterator.next() == .listening)
                _ = try await ReplicaTests.deliver(batches[1], to: replicas, firstReplica: 0)
                #expect(await iterator.next() == .batch(device: board.identity.deviceID.rawValue, sequence: 2, gap: false))
            }
        }
    }

    /// Signs in as bob at the live view on `port`, holds /api/events open (prints `open`), then
    /// prints `pole DEVICE` for each pole event.
    static let watcher = """
        import re, socket, sys, urllib.request
        port = int(sys.argv[1])
        class Keep(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args): return None
        opener = urllib.request.build_opener(Keep)
        try:
            opener.open("http://127.0.0.1:%d/login" % port, data=b"name=bob&password=viewer-password")
            sys.exit("sign-in not redirected")
        except urllib.error.HTTPError as answer:
            cookie = answer.headers["Set-Cookie"].split(";")[0]
        connection = socket.create_connection(("127.0.0.1", port))
        connection.sendall(("GET /api/events HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nCookie: %s\\r\\n\\r\\n" % cookie).encode())
        received = b""
        opened = False
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                print("closed", flush=True); sys.exit(0)
            received += chunk
            if not opened and b": live" in received:
                opened = True
                print("open", flush=True)
            for device in re.findall(rb'"device":"([^"]+)"', received):
                print("pole " + device.decode(), flush=True)
            received = received[received.rfind(b"\\n") + 1:]
        """

    @Test("two serve --live-view replicas on one PostgreSQL: a batch POSTed to A appears in B's /api/events")
    func liveViewAcrossReplicas() async throws {
        var board = try TestBoard()
        let device = board.identity.deviceID.rawValue
        let batch = try board.next(count: 2)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try enrolledKeysFile([board], in: directory)
        let accounts = directory.appendingPathComponent("accounts").path
        let ingest = Products.path("lamp-ingest")
        let added = try await ChildProcess.run(ingest, ["user", "add", "bob", "--role", "viewer", "--accounts", accounts], input: "viewer-password\n")
        try #require(added.exitCode == 0, "\(added.stderr)")
        let poles = directory.appendingPathComponent("poles.csv")
        try "device,label,latitude,longitude,rated_power_w\n\(device),Rue Royale 1,50.85,4.36,60\n".write(to: poles, atomically: true, encoding: .utf8)
        // The page's own files are not fetched here: empty stand-ins for Leaflet do.
        let leaflet = directory.appendingPathComponent("leaflet")
        try FileManager.default.createDirectory(at: leaflet, withIntermediateDirectories: true)
        for name in ["leaflet.js", "leaflet.css", "leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"] {
            try Data().write(to: leaflet.appendingPathComponent(name))
        }
        try await TestPostgres.withDatabase { location in
            let serve = [
                "serve", "--store", TestPostgres.url(location), "--keys", keys, "--port", "0", "--live-view", "--poles", poles.path,
                "--accounts", accounts, "--leaflet-directory", leaflet.path,
            ]
            try await ChildProcess.with(executable: ingest, arguments: serve) { a in
                let portA = try await CommandLineTests.listeningPort(a)
                // B second: A made the shared session secret.
                try await ChildProcess.with(executable: ingest, arguments: serve) { b in
                    let portB = try await CommandLineTests.listeningPort(b)
                    _ = try await b.transcript.wait(forLineContaining: "following the batches of every replica")
                    try await ChildProcess.with(executable: "/usr/bin/env", arguments: ["python3", "-c", Self.watcher, "\(portB)"]) { watcher in
                        try await watcher.transcript.wait(for: "open") { $0 == "open" }
                        try await CommandLineTests.post(batch, port: portA)
                        try await watcher.transcript.wait(for: "pole \(device) in B's events") { $0 == "pole \(device)" }
                    }
                }
            }
        }
    }
}
