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

    static func withPublished(_ body: (IngestHarness, SQLitePublishedStateStore, String) async throws -> Void) async throws {
        let board = try TestBoard()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLitePublishedStateStore(path: directory.appendingPathComponent("published.sqlite").path)
        try await IngestHarness.withServer(.sqlite, enrolling: [board], desiredState: store) { server in
            try await body(server, store, board.identity.deviceID.rawValue)
        }
    }

    static func document(_ device: String, _ role: String, _ version: UInt64, _ byte: UInt8) -> PublishedDocument {
        PublishedDocument(device: device, role: role, version: version, document: [0xD2, byte, byte], publishedAt: Date())
    }

    @Test("nothing published or nothing newer: 204 with no body; newer: 200 with the newest of each role")
    func answers() async throws {
        try await Self.withPublished { server, store, device in
            let nothing = try await Self.pull(server, DesiredStatePull.target(device: DeviceID(device), applied: [:]))
            #expect(nothing.status == 204)
            #expect(nothing.body.isEmpty)

            try store.publish(Self.document(device, "scheduler", 1, 1))
            try store.publish(Self.document(device, "scheduler", 2, 2))
            try store.publish(Self.document(device, "operator", 1, 3))
            let both = try await Self.pull(server, DesiredStatePull.target(device: DeviceID(device), applied: ["scheduler": 1]))
            #expect(both.status == 200)
            #expect(both.contentType == DesiredStatePull.contentType)
            #expect(try DesiredStatePull.documents(answer: both.body) == [[0xD2, 2, 2], [0xD2, 3, 3]])

            let one = try await Self.pull(server, DesiredStatePull.target(device: DeviceID(device), applied: ["scheduler": 2]))
            #expect(try DesiredStatePull.documents(answer: one.body) == [[0xD2, 3, 3]])
            let upToDate = try await Self.pull(server, DesiredStatePull.target(device: DeviceID(device), applied: ["scheduler": 2, "operator": 1]))
            #expect(upToDate.status == 204)

            let history = try store.history(device: device)
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

    @Test("a device that is not enrolled is 401 unknown-device")
    func unknownDevice() async throws {
        try await Self.withPublished { server, store, _ in
            try store.publish(Self.document("pole-9999", "scheduler", 1, 1))
            let answer = try await Self.pull(server, DesiredStatePull.target(device: DeviceID("pole-9999"), applied: [:]))
            #expect(answer.status == 401)
            let json = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
            #expect(json?["error"] as? String == "unknown-device")
        }
    }

    @Test("the store refuses a version not above the last of its device and role")
    func versionsOnlyGrow() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLitePublishedStateStore(path: directory.appendingPathComponent("published.sqlite").path)
        try store.publish(Self.document("pole-1", "operator", 5, 1))
        #expect(throws: IngestError.self) { try store.publish(Self.document("pole-1", "operator", 5, 2)) }
        #expect(try store.lastVersion(device: "pole-1", role: "operator") == 5)
        #expect(try store.lastVersion(device: "pole-1", role: "scheduler") == 0)
    }
}
