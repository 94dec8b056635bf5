import Foundation
@testable import Telemetry
import Testing
import TestSupport

@testable import Uplink

@Suite("Batches: SenML pack, COSE_Sign1, verification")
struct BatchTests {
    static func signed(sequence: UInt64 = 1, previousHash: [UInt8] = []) throws -> SignedBatch {
        let payload = try BatchBuilder(deviceID: Fixtures.deviceID).build(records: Fixtures.records)
        return BatchSigner(identity: Fixtures.identity).sign(payload: payload, sequence: sequence, previousHash: previousHash)
    }

    @Test("the SenML pack uses RFC 8428 integer labels, base name, base time and relative times")
    func senMLPack() throws {
        let payload = try BatchBuilder(deviceID: Fixtures.deviceID).build(records: Fixtures.records)
        #expect(payload.firstSpoolSequence == 101)
        #expect(payload.lastSpoolSequence == 105)
        #expect(payload.recordCount == 4)
        let pack = try #require(try CBORDecoder().decode(payload.bytes).array)
        #expect(pack.count == 4)
        #expect(pack[0].map?[-2] == "urn:dev:lampd:pole-0042:")
        #expect(pack[0].map?[-3] == .int(1_759_341_600))
        #expect(pack[0].map?[0] == "lamp1/power")
        #expect(pack[0].map?[1] == "W")
        #expect(pack[0].map?[2] == .float(41.5))
        #expect(pack[0].map?[6] == 0)
        // First synchronised record of the boot carries the anchor.
        #expect(pack[0].map?["boot"]?.array?[1] == .int(3_600_000_000_000))
        // kWh is sent as J.
        #expect(pack[1].map?[1] == "J")
        #expect(pack[1].map?[2] == .int(45_000_000))
        #expect(pack[1].map?[6] == .float(0.25))
        #expect(pack[1].map?[-2] == nil)
        #expect(pack[1].map?["boot"] == nil)
        // The event.
        #expect(pack[2].map?[0] == "cabinet/door/event/door.opened")
        #expect(pack[2].map?[3] == "cabinet door opened without maintenance mode")
        #expect(pack[2].map?["sev"] == 2)
        #expect(pack[2].map?["val"] == true)
        // The unsynchronised reading: must-understand boot_, uncertain quality.
        #expect(pack[3].map?["boot_"]?.array?[1] == .int(42_000_000_000))
        #expect(pack[3].map?["q"] == 1)
    }

    @Test("sign then verify gives back headers and records")
    func roundTrip() throws {
        let batch = try Self.signed(sequence: 7, previousHash: Array(repeating: 0xAB, count: 32))
        let verified = try BatchVerifier.verify(bytes: batch.bytes, publicKey: Fixtures.key.publicKey)
        #expect(verified.deviceID == "pole-0042")
        #expect(verified.kid == Fixtures.key.publicKey.kid)
        #expect(verified.sequence == 7)
        #expect(verified.previousHash == Array(repeating: 0xAB, count: 32))
        #expect(verified.firstSpoolSequence == 101)
        #expect(verified.lastSpoolSequence == 105)
        #expect(verified.hash == batch.hash)
        #expect(batch.bytes.first == 0xD2)  // tag 18

        let records = verified.records
        try #require(records.count == 4)
        #expect(records[0].kind == .reading)
        #expect(records[0].name == "urn:dev:lampd:pole-0042:lamp1/power")
        #expect(records[0].channel == "lamp1/power")
        #expect(records[0].value == .number(41.5))
        #expect(records[0].unit == "W")
        #expect(records[0].utcNanoseconds == Fixtures.baseUTCNanoseconds)
        #expect(records[0].boot == BootTime(bootID: Fixtures.bootID, bootNanoseconds: 3_600_000_000_000))
        #expect(records[1].utcNanoseconds == Fixtures.baseUTCNanoseconds + 250_000_000)
        #expect(records[1].value == .number(45_000_000))
        #expect(records[2].kind == .event(kind: "door.opened", severity: .alarm))
        #expect(records[2].channel == "cabinet/door")
        #expect(records[2].message == "cabinet door opened without maintenance mode")
        #expect(records[2].value == .boolean(true))
        #expect(records[3].isClockSynchronised == false)
        #expect(records[3].quality == [.uncertain, .clockUnsynchronised])
        #expect(records[3].utcNanoseconds == 86_400_000_000_000)
        #expect(records[3].boot == BootTime(bootID: Fixtures.bootID, bootNanoseconds: 42_000_000_000))
    }

    @Test("events without a channel, odd kinds and values of every type")
    func events() throws {
        let records: [SpooledRecord] = [
            SpooledRecord(
                sequence: 1,
                record: .event(
                    Event(kind: "spool.full/odd kind", severity: .warning, value: .number(1200), time: Fixtures.time(1),
                        message: "spool full: dropped 1200 readings"))),
            SpooledRecord(
                sequence: 2,
                record: .reading(
                    Reading(channel: ChannelName(rawValue: "fw")!, value: .string("1.2.3"), time: Fixtures.time(1.000001)))),
        ]
        let payload = try BatchBuilder(deviceID: Fixtures.deviceID).build(records: records)
        let batch = BatchSigner(identity: Fixtures.identity).sign(payload: payload, sequence: 1, previousHash: [])
        let verified = try BatchVerifier.verify(bytes: batch.bytes, publicKey: Fixtures.key.publicKey)
        #expect(verified.records[0].name == "urn:dev:lampd:pole-0042:event/spool.full_odd_kind")
        #expect(verified.records[0].kind == .event(kind: "spool.full_odd_kind", severity: .warning))
        #expect(verified.records[0].channel == nil)
        #expect(verified.records[0].value == .number(1200))
        #expect(verified.records[1].value == .string("1.2.3"))
        // t is rounded to 1/1024 s: 1.000001 s is sent as exactly 1 s.
        #expect(verified.records[1].utcNanoseconds == Fixtures.baseUTCNanoseconds + 1_000_000_000)
        #expect(throws: UplinkError.self) { try BatchBuilder(deviceID: Fixtures.deviceID).build(records: []) }
    }

    @Test("times are rounded to 1/1024 s, never further")
    func timeResolution() {
        for nanoseconds: Int64 in [0, 1, 488_281, 488_282, 999_999_999, 59_123_456_789, -1_759_255_200_123_456_789] {
            let seconds = BatchBuilder.quantisedSeconds(nanoseconds)
            #expect(abs(seconds * 1e9 - Double(nanoseconds)) <= 1e9 / 2048 + 1)
            #expect((seconds * 1024).rounded() == seconds * 1024)
        }
    }

    @Test("changing any single byte makes verification fail")
    func tamperEveryByte() throws {
        let batch = try Self.signed()
        for index in batch.bytes.indices {
            var tampered = batch.bytes
            tampered[index] ^= 0x01
            #expect(throws: UplinkError.self, "byte \(index)") {
                try BatchVerifier.verify(bytes: tampered, publicKey: Fixtures.key.publicKey)
            }
        }
        // Truncated and extended batches too.
        #expect(throws: UplinkError.self) {
            try BatchVerifier.verify(bytes: batch.bytes.dropLast(), publicKey: Fixtures.key.publicKey)
        }
        #expect(throws: UplinkError.self) {
            try BatchVerifier.verify(bytes: batch.bytes + [0], publicKey: Fixtures.key.publicKey)
        }
    }

    @Test("a payload byte flipped gives bad-signature; another key gives unknown-key")
    func errorCodes() throws {
        let batch = try Self.signed()
        var tampered = batch.bytes
        tampered[tampered.count - 70] ^= 0x01  // inside the payload, before the 64-byte signature
        #expect { try BatchVerifier.verify(bytes: tampered, publicKey: Fixtures.key.publicKey) } throws: {
            ($0 as? UplinkError)?.reason == .badSignature
        }
        let other = DeviceKey.generate().publicKey
        #expect { try BatchVerifier.verify(bytes: batch.bytes, publicKey: other) } throws: {
            ($0 as? UplinkError)?.reason == .unknownKey
        }
    }

    @Test("a batch whose kid matches but whose signature is from another key is refused")
    func forgedKid() throws {
        // Re-sign the same protected header (which names the fixture's kid) with another key.
        let batch = try Self.signed()
        guard case .tagged(18, .array(let parts)) = try CBORDecoder().decode(batch.bytes),
            case .bytes(let protected) = parts[0], case .bytes(let payload) = parts[2]
        else { throw CancellationError() }
        let forged = DeviceKey.generate().signature(for: BatchSigner.toBeSigned(protected: protected, payload: payload))
        let bytes = CBORValue.tagged(18, [parts[0], parts[1], parts[2], .bytes(forged)]).encoded()
        #expect { try BatchVerifier.verify(bytes: bytes, publicKey: Fixtures.key.publicKey) } throws: {
            ($0 as? UplinkError)?.reason == .badSignature
        }
    }

    @Test("each batch's previous hash is the hash of the batch before")
    func chain() throws {
        let first = try Self.signed(sequence: 1, previousHash: [])
        let second = try Self.signed(sequence: 2, previousHash: first.hash)
        let verified = try BatchVerifier.verify(bytes: second.bytes, publicKey: Fixtures.key.publicKey)
        #expect(verified.previousHash == first.hash)
        #expect(verified.sequence == 2)
        let verifiedFirst = try BatchVerifier.verify(bytes: first.bytes, publicKey: Fixtures.key.publicKey)
        #expect(verifiedFirst.previousHash.isEmpty)
        #expect(verifiedFirst.hash == first.hash)
    }

    @Test("Python (cbor2 + pycose + cryptography) verifies the batch; one changed byte fails it")
    func pythonVerifies() async throws {
        try await PythonPeer.requireModules()
        let batch = try Self.signed(sequence: 3, previousHash: Array(repeating: 7, count: 32))
        let directory = FileManager.default.temporaryDirectory
        let good = directory.appendingPathComponent("batch-\(UUID().uuidString).cbor")
        let bad = directory.appendingPathComponent("batch-\(UUID().uuidString).cbor")
        defer {
            try? FileManager.default.removeItem(at: good)
            try? FileManager.default.removeItem(at: bad)
        }
        try Data(batch.bytes).write(to: good)
        var tampered = batch.bytes
        tampered[tampered.count - 70] ^= 0x01
        try Data(tampered).write(to: bad)

        let key = Fixtures.key.publicKey.base64
        let result = try await PythonPeer.run([PythonPeer.script("uplink_verify.py"), good.path, key])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(summary["deviceID"] as? String == "pole-0042")
        #expect(summary["sequence"] as? Int == 3)
        #expect(summary["kid"] as? String == Fixtures.key.publicKey.kidHex)
        #expect(summary["hash"] as? String == hex(batch.hash))
        #expect(summary["contentType"] as? Int == 112)
        let records = try #require(summary["records"] as? [[String: Any]])
        #expect(records.count == 4)
        #expect(records[0]["name"] as? String == "urn:dev:lampd:pole-0042:lamp1/power")
        #expect(records[2]["event"] as? String == "door.opened")
        #expect(records[2]["severity"] as? Int == 2)
        #expect(records[3]["clockUnsynchronised"] as? Bool == true)

        let rejected = try await PythonPeer.run([PythonPeer.script("uplink_verify.py"), bad.path, key])
        #expect(rejected.exitCode == 1, "\(rejected.stdout) \(rejected.stderr)")
        #expect(rejected.stderr.contains("signature invalid"))
    }
}
