import Foundation
import Ingest
import Testing
import Uplink

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("GET /v1/desired-state/{device} (docs/downlink.md, The pull)", .serialized)
struct DesiredStatePullTests {
    struct Answer {
        var status: Int
        var body: [UInt8]
        var contentType: String?
    }

    static func pull(_ server: IngestHarness, _ target: String) async throws -> Answer {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(server.port)\(target)")!)
        let http = try #require(response as? HTTPURLResponse)
        return Answer(status: http.statusCode, body: [UInt8](data), contentType: http.value(forHTTPHeaderField: "Content-Type"))
    }

    static func withPublished(
        _ kind: StoreKind = .sqlite, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (IngestHarness, any PublishedStateStore, String) async throws -> Void
    ) async throws {
        let board = try TestBoard()
        try await PublishedStateStores.with(kind, sourceLocation: sourceLocation) { open, _ in
            let store = try await open()
            try await IngestHarness.withServer(.sqlite, enrolling: [board], desiredState: store) { server in
                try await body(server, store, board.identity.deviceID.rawValue)
            }
        }
    }

    static func document(_ device: String, _ role: String, _ version: UInt64, _ byte: UInt8) -> PublishedDocument {
        PublishedDocument(device: device, role: role, version: version, document: [0xD2, byte, byte], publishedAt: Date())
    }

    @Test("nothing published or nothing newer: 204 with no body; newer: 200 with the newest of each role",
          arguments: StoreKind.allCases)
    func answers(kind: StoreKind) async throws {
        try await Self.withPublished(kind) { server, store, device in
            let nothing = try await Self.pull(server, DesiredStatePull.target(device: DeviceID(device), applied: [:]))
            #expect(nothing.status == 204)
            #expect(nothing.body.isEmpty)

            try await store.publish(Self.document(device, "scheduler", 1, 1))
            try await store.publish(Self.document(device, "scheduler", 2, 2))
            try await store.publish(Self.document(device, "operator", 1, 3))
            let both = try await Self.pull(server, DesiredStatePull.target(device: DeviceID(device), applied: ["scheduler": 1]))
            #expect(both.status == 200)
            #expect(both.contentType == DesiredStatePull.contentType)
            #expect(try DesiredStatePull.documents(answer: both.body) == [[0xD2, 2, 2], [0xD2, 3, 3]])

            let one = try await Self.pull(server, DesiredStatePull.target(device: DeviceID(device), applied: ["scheduler": 2]))
            #expect(try DesiredStatePull.documents(answer: one.body) == [[0xD2, 3, 3]])
            let upToDate = try await Self.pull(server, DesiredStatePull.target(device: DeviceID(device), applied: ["scheduler": 2, "operator": 1]))
            #expect(upToDate.status == 204)

            let history = try await store.history(device: device)
            #expect(history.first { $0.role == "scheduler" && $0.version == 1 }?.status == "superseded")
            #expect(history.first { $0.role == "scheduler" && $0.version == 2 }?.status == "fetched")
            #expect(history.first { $0.role == "operator" }?.status == "fetched")
        }
    }

    @Test("a bad query is 400 and names the mistake; an unknown or invalid device is refused", arguments: [
        ("?scheduler=x", 400), ("?scheduler=1&scheduler=2", 400), ("?sceduler=1", 400),
        ("?scheduler=99999999999999999999", 400), ("?operator=-1", 400),
    ])
    func badQuery(query: String, status: Int) async throws {
        try await Self.withPublished { server, _, device in
            let answer = try await Self.pull(server, DesiredStatePull.pathPrefix + device + query)
            #expect(answer.status == status)
            let json = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
            #expect(json?["error"] as? String == "invalid-argument")
        }
    }

    @Test("a device that is not enrolled is 401 unknown-device", arguments: StoreKind.allCases)
    func unknownDevice(kind: StoreKind) async throws {
        try await Self.withPublished(kind) { server, store, _ in
            try await store.publish(Self.document("pole-9999", "scheduler", 1, 1))
            let answer = try await Self.pull(server, DesiredStatePull.target(device: DeviceID("pole-9999"), applied: [:]))
            #expect(answer.status == 401)
            let json = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
            #expect(json?["error"] as? String == "unknown-device")
        }
    }

    @Test("the store refuses a version not above the last of its device and role", arguments: StoreKind.allCases)
    func versionsOnlyGrow(kind: StoreKind) async throws {
        try await PublishedStateStores.with(kind) { open, _ in
            let store = try await open()
            try await store.publish(Self.document("pole-1", "operator", 5, 1))
            await #expect(throws: IngestError.self) { try await store.publish(Self.document("pole-1", "operator", 5, 2)) }
            await #expect(throws: IngestError.self) { try await store.publish(Self.document("pole-1", "operator", 4, 2)) }
            await #expect(throws: IngestError.self) { try await store.publish(Self.document("pole-1", "operator", 0, 2)) }
            #expect(try await store.lastVersion(device: "pole-1", role: "operator") == 5)
            #expect(try await store.lastVersion(device: "pole-1", role: "scheduler") == 0)
            #expect(try await store.newest(device: "pole-1", role: "operator")?.document == [0xD2, 1, 1])
        }
    }

    @Test("fetched, applied and superseded are kept per version, as SQLite and PostgreSQL alike", arguments: StoreKind.allCases)
    func outcomes(kind: StoreKind) async throws {
        try await PublishedStateStores.with(kind) { open, _ in
            let store = try await open()
            let at = Date(timeIntervalSince1970: 1_800_000_000)
            try await store.publish(Self.document("pole-1", "scheduler", 1, 1))
            try await store.markFetched(device: "pole-1", role: "scheduler", version: 1, at: at)
            try await store.recordOutcome(device: "pole-1", role: "scheduler", version: 1, outcome: "applied", at: at)
            try await store.publish(Self.document("pole-1", "scheduler", 2, 2))
            try await store.publish(Self.document("pole-1", "scheduler", 3, 3))
            try await store.publish(Self.document("pole-2", "operator", 1, 4))
            let history = try await store.history(device: "pole-1")
            #expect(history.map(\.version) == [1, 2, 3])
            #expect(history.map(\.status) == ["applied", "superseded", "published"])
            #expect(history[0].fetchedAt == at)
            #expect(try await store.history(device: nil).count == 4)
        }
    }

    @Test("two publishers of one board's role at once: never the same version twice, versions only grow",
          arguments: StoreKind.allCases)
    func concurrentPublishers(kind: StoreKind) async throws {
        try await PublishedStateStores.with(kind) { open, _ in
            // Two handles: two replicas (or two `lamp-ingest publish` runs) on one store.
            let first = try await open()
            let second = try await open()
            let rounds = 20
            let won = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, store) in [first, second].enumerated() {
                    group.addTask {
                        var won = 0
                        for version in 1...UInt64(rounds) {
                            // Each publisher tries every version, as `publish` without --version would.
                            do {
                                try await store.publish(Self.document("pole-1", "operator", version, UInt8(index)))
                                won += 1
                            } catch let error as IngestError where error.reason == .invalidArgument {}
                        }
                        return won
                    }
                }
                return try await group.reduce(0, +)
            }
            let history = try await first.history(device: "pole-1")
            #expect(won == rounds)
            #expect(history.map(\.version) == (1...UInt64(rounds)).map { $0 })
            #expect(history.filter { $0.status == "published" }.count == 1)
        }
    }
}
