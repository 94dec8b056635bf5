import Foundation
import Ingest
import Testing

@testable import Uplink

@Suite("lamp-ingest over HTTP (docs/uplink.md §6)", .serialized)
struct HTTPTests {
    @Test("a good batch is stored and acknowledged with exactly the §6 fields", arguments: StoreKind.allCases)
    func acceptsGoodBatch(store kind: StoreKind) async throws {
        var board = try TestBoard()
        let batch = try board.next()
        try await IngestHarness.withServer(kind, enrolling: [board]) { server in
            let reply = try await server.post(batch.bytes)
            #expect(reply.status == 200)
            #expect(reply.contentType == "application/json")
            #expect(Set(reply.json.keys) == ["status", "device", "kid", "sequence", "hash"])
            #expect(reply.json["status"] as? String == "stored")
            #expect(reply.json["device"] as? String == "pole-0042")
            #expect(reply.json["kid"] as? String == board.publicKey.kidHex)
            #expect(reply.json["sequence"] as? Int == 1)
            #expect(reply.json["hash"] as? String == hexString(batch.hash))
            #expect(try await server.storedBatches() == 1)
        }
    }

    @Test("a retransmission is acknowledged as duplicate and not stored again", arguments: StoreKind.allCases)
    func duplicate(store kind: StoreKind) async throws {
        var board = try TestBoard()
        let batch = try board.next()
        try await IngestHarness.withServer(kind, enrolling: [board]) { server in
            #expect(try await server.post(batch.bytes).json["status"] as? String == "stored")
            let again = try await server.post(batch.bytes)
            #expect(again.status == 200)
            #expect(again.json["status"] as? String == "duplicate")
            #expect(again.json["hash"] as? String == hexString(batch.hash))
            #expect(try await server.storedBatches() == 1)
        }
    }

    @Test("another batch with a stored sequence is a 409 sequence-conflict", arguments: StoreKind.allCases)
    func conflict(store kind: StoreKind) async throws {
        var board = try TestBoard()
        let first = try board.next()
        let forged = try board.signed(sequence: 1, previousHash: [], records: board.records(count: 2))
        try await IngestHarness.withServer(kind, enrolling: [board]) { server in
            #expect(try await server.post(first.bytes).status == 200)
            let reply = try await server.post(forged.bytes)
            #expect(reply.status == 409)
            #expect(reply.json["error"] as? String == "sequence-conflict")
            #expect((reply.json["message"] as? String)?.isEmpty == false)
            #expect(try await server.storedBatches() == 1)
        }
    }

    @Test("a gap is stored and reported with expected and received", arguments: StoreKind.allCases)
    func gap(store kind: StoreKind) async throws {
        var board = try TestBoard()
        let first = try board.next()
        let second = try board.next()
        _ = try board.next()
        let fourth = try board.next()
        try await IngestHarness.withServer(kind, enrolling: [board]) { server in
            #expect(try await server.post(first.bytes).status == 200)
            let reply = try await server.post(fourth.bytes)
            #expect(reply.status == 200)
            #expect(reply.json["status"] as? String == "stored")
            let gap = try #require(reply.json["gap"] as? [String: Any])
            #expect(gap["expected"] as? Int == 2)
            #expect(gap["received"] as? Int == 4)
            let status = try #require(try await server.store.status().first)
            #expect(status.batches == 2 && status.gaps == 1 && status.lastSequence == 4)

            // A missing batch that turns up late fills the hole; the chain's head stays at 4.
            let late = try await server.post(second.bytes)
            #expect(late.status == 200)
            #expect(late.json["status"] as? String == "stored")
            #expect(late.json["gap"] == nil)
            let after = try #require(try await server.store.status().first)
            #expect(after.batches == 3 && after.gaps == 1 && after.lastSequence == 4)
        }
    }

    @Test("key rotation: the new enrolled key continues the chain at sequence 1", arguments: StoreKind.allCases)
    func rotation(store kind: StoreKind) async throws {
        var board = try TestBoard()
        let old = try board.next()
        let oldBoard = board
        try board.rotate(seedByte: 9)
        let rotated = try board.next()
        try await IngestHarness.withServer(kind, enrolling: [oldBoard, board]) { server in
            #expect(try await server.post(old.bytes).status == 200)
            let reply = try await server.post(rotated.bytes)
            #expect(reply.status == 200)
            #expect(reply.json["kid"] as? String == board.publicKey.kidHex)
            #expect(reply.json["gap"] == nil)
            #expect(try await server.store.status().first?.kid == board.publicKey.kidHex)
        }
    }

    @Test("unknown device and unknown key are 401", arguments: StoreKind.allCases)
    func unknownDeviceAndKey(store kind: StoreKind) async throws {
        var enrolled = try TestBoard()
        var stranger = try TestBoard(device: "pole-9999", seedByte: 7)
        var rekeyed = try TestBoard(device: "pole-0042", seedByte: 8)
        _ = try enrolled.next()
        try await IngestHarness.withServer(kind, enrolling: [enrolled]) { server in
            let device = try await server.post(try stranger.next().bytes)
            #expect(device.status == 401)
            #expect(device.json["error"] as? String == "unknown-device")
            let key = try await server.post(try rekeyed.next().bytes)
            #expect(key.status == 401)
            #expect(key.json["error"] as? String == "unknown-key")
            #expect(try await server.storedBatches() == 0)
        }
    }

    @Test("a tampered payload is 403 bad-signature", arguments: StoreKind.allCases)
    func tampered(store kind: StoreKind) async throws {
        var board = try TestBoard()
        var bytes = try board.next().bytes
        // Change one character of the channel name inside the signed payload.
        let name = Array("lamp1/power".utf8)
        let at = try #require((0...(bytes.count - name.count)).first { Array(bytes[$0..<$0 + name.count]) == name })
        bytes[at] = UInt8(ascii: "L")
        try await IngestHarness.withServer(kind, enrolling: [board]) { server in
            let reply = try await server.post(bytes)
            #expect(reply.status == 403)
            #expect(reply.json["error"] as? String == "bad-signature")
            #expect(try await server.storedBatches() == 0)
        }
    }

    @Test("malformed CBOR, a non-COSE item and a broken zlib stream are 400", arguments: StoreKind.allCases)
    func malformed(store kind: StoreKind) async throws {
        let board = try TestBoard()
        try await IngestHarness.withServer(kind, enrolling: [board]) { server in
            let garbage = try await server.post([0xD2, 0x84, 0x58, 0xFF, 0x01])
            #expect(garbage.status == 400)
            #expect(garbage.json["error"] as? String == "malformed-batch")
            let notCOSE = try await server.post(CBORValue.array([1, 2, 3]).encoded())
            #expect(notCOSE.status == 400)
            #expect(notCOSE.json["error"] as? String == "malformed-batch")
            let empty = try await server.post([])
            #expect(empty.status == 400)
            let badZlib = try await server.post([0x78, 0x9C, 0x01, 0x02, 0x03], encoding: "deflate")
            #expect(badZlib.status == 400)
            #expect(badZlib.json["error"] as? String == "malformed-body")
        }
    }

    @Test("bodies over the limit are 413, plain and after inflating", arguments: StoreKind.allCases)
    func tooLarge(store kind: StoreKind) async throws {
        var board = try TestBoard()
        let batch = try board.next(count: 400)
        let limit = batch.bytes.count - 1
        let compressed = BodyCompression.deflate(batch.bytes)
        try #require(compressed.count < limit)
        try await IngestHarness.withServer(kind, enrolling: [board], maxBodyBytes: limit) { server in
            let plain = try await server.post(batch.bytes)
            #expect(plain.status == 413)
            #expect(plain.json["error"] as? String == "body-too-large")
            let inflated = try await server.post(compressed, encoding: "deflate")
            #expect(inflated.status == 413)
            #expect(inflated.json["error"] as? String == "body-too-large")
            #expect(try await server.storedBatches() == 0)
        }
    }

    @Test("other content types are 415, other encodings too", arguments: StoreKind.allCases)
    func unsupportedMedia(store kind: StoreKind) async throws {
        var board = try TestBoard()
        let batch = try board.next()
        try await IngestHarness.withServer(kind, enrolling: [board]) { server in
            let type = try await server.post(batch.bytes, contentType: "application/json")
            #expect(type.status == 415)
            #expect(type.json["error"] as? String == "unsupported-media-type")
            let encoding = try await server.post(batch.bytes, encoding: "br")
            #expect(encoding.status == 415)
            #expect(encoding.json["error"] as? String == "unsupported-encoding")
            #expect(try await server.storedBatches() == 0)
        }
    }

    @Test("deflate bodies are accepted; hash and stored bytes are those of the uncompressed batch", arguments: StoreKind.allCases)
    func deflate(store kind: StoreKind) async throws {
        var board = try TestBoard()
        let batch = try board.next(count: 50)
        try await IngestHarness.withServer(kind, enrolling: [board]) { server in
            let reply = try await server.post(BodyCompression.deflate(batch.bytes), encoding: "deflate")
            #expect(reply.status == 200)
            #expect(reply.json["hash"] as? String == hexString(batch.hash))
            let again = try await server.post(batch.bytes)
            #expect(again.json["status"] as? String == "duplicate")
        }
    }

    @Test("GET /healthz answers ok; other paths and methods get a JSON 404", arguments: StoreKind.allCases)
    func health(store kind: StoreKind) async throws {
        try await IngestHarness.withServer(kind, enrolling: [try TestBoard()]) { server in
            let reply = try await server.get("/healthz")
            #expect(reply.status == 200)
            #expect(reply.json["status"] as? String == "ok")
            let wrongPath = try await server.post([0xD2], path: "/v2/batches")
            #expect(wrongPath.status == 404)
            #expect(wrongPath.json["error"] as? String == "not-found")
            #expect(try await server.get("/v1/batches").status == 404)
        }
    }
}
