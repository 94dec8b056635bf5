import Foundation
import Testing
import TestSupport

@testable import Uplink

/// The `spool backlog` protected header (-65541, issue 17): what the board still holds after a batch.
@Suite("Batches: spool backlog header")
struct SpoolBacklogHeaderTests {
    static func signed(spoolBacklog: UInt64?) throws -> SignedBatch {
        let payload = try BatchBuilder(deviceID: Fixtures.deviceID).build(records: Fixtures.records)
        return BatchSigner(identity: Fixtures.identity).sign(payload: payload, sequence: 3, previousHash: [], spoolBacklog: spoolBacklog)
    }

    /// The fixture batch with the protected header's -65541 set to `value` (nil: removed), signed again.
    static func resigned(backlog value: CBORValue?) throws -> [UInt8] {
        let batch = try signed(spoolBacklog: 1)
        guard case .tagged(18, .array(let parts)) = try CBORDecoder().decode(batch.bytes),
            case .bytes(let protectedBytes) = parts[0], case .bytes(let payload) = parts[2],
            case .map(var header) = try CBORDecoder().decode(protectedBytes)
        else { throw CancellationError() }
        header[COSEHeader.spoolBacklog] = value
        let protected = CBORValue.map(header).encoded()
        let signature = Fixtures.key.signature(for: BatchSigner.toBeSigned(protected: protected, payload: payload))
        return CBORValue.tagged(18, [.bytes(protected), parts[1], parts[2], .bytes(signature)]).encoded()
    }

    @Test("the signed header carries the backlog, and verification reads it back")
    func roundTrip() throws {
        for backlog: UInt64 in [0, 1, 23, 24, 255, 65_536, UInt64(Int64.max)] {
            let batch = try Self.signed(spoolBacklog: backlog)
            let verified = try BatchVerifier.verify(bytes: batch.bytes, publicKey: Fixtures.key.publicKey)
            #expect(verified.spoolBacklog == Int64(backlog))
            guard case .tagged(18, .array(let parts)) = try CBORDecoder().decode(batch.bytes), case .bytes(let protected) = parts[0] else {
                Issue.record("not a COSE_Sign1")
                return
            }
            #expect(try CBORDecoder().decode(protected).map?[COSEHeader.spoolBacklog] == .unsigned(backlog))
        }
        // A number no receiver can store is sent as 2^63 − 1.
        let huge = try BatchVerifier.verify(bytes: try Self.signed(spoolBacklog: .max).bytes, publicKey: Fixtures.key.publicKey)
        #expect(huge.spoolBacklog == .max)
        // Signing is deterministic: a retransmission (the same bytes) carries the same number.
        #expect(try Self.signed(spoolBacklog: 9).bytes == (try Self.signed(spoolBacklog: 9).bytes))
    }

    @Test("absent (a board before the label) is unknown")
    func absent() throws {
        let batch = try Self.signed(spoolBacklog: nil)
        #expect(try BatchVerifier.verify(bytes: batch.bytes, publicKey: Fixtures.key.publicKey).spoolBacklog == nil)
        #expect(try BatchVerifier.verify(bytes: try Self.resigned(backlog: nil), publicKey: Fixtures.key.publicKey).spoolBacklog == nil)
    }

    @Test("a backlog that is not a uint below 2^63 is a malformed batch", arguments: [
        CBORValue.int(-1), .negative(UInt64.max), .unsigned(UInt64(Int64.max) + 1), .unsigned(.max), .float(3), .float(.nan),
        "12", .bytes([1]), [1], .map([:]), .null, .undefined, true, .tagged(2, .bytes([1, 0])),
    ])
    func wrongType(value: CBORValue) throws {
        #expect { try BatchVerifier.verify(bytes: try Self.resigned(backlog: value), publicKey: Fixtures.key.publicKey) } throws: {
            guard let error = $0 as? UplinkError else { return false }
            return error.reason == .malformedBatch && error.message.contains("-65541")
        }
    }

    @Test("Python (cbor2 + pycose) reads the backlog, null when absent, and refuses a wrong type")
    func pythonReadsIt() async throws {
        try await PythonPeer.requireModules()
        let directory = FileManager.default.temporaryDirectory
        let key = Fixtures.key.publicKey.base64
        for (bytes, expected) in [(try Self.signed(spoolBacklog: 4_321).bytes, 4_321 as Int?), (try Self.signed(spoolBacklog: nil).bytes, nil)] {
            let file = directory.appendingPathComponent("batch-\(UUID().uuidString).cbor")
            defer { try? FileManager.default.removeItem(at: file) }
            try Data(bytes).write(to: file)
            let result = try await PythonPeer.run([PythonPeer.script("uplink_verify.py"), file.path, key])
            #expect(result.exitCode == 0, "\(result.stderr)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            if let expected {
                #expect(summary["spoolBacklog"] as? Int == expected)
            } else {
                #expect(summary["spoolBacklog"] is NSNull)
            }
        }
        let bad = directory.appendingPathComponent("batch-\(UUID().uuidString).cbor")
        defer { try? FileManager.default.removeItem(at: bad) }
        try Data(try Self.resigned(backlog: "12")).write(to: bad)
        let refused = try await PythonPeer.run([PythonPeer.script("uplink_verify.py"), bad.path, key])
        #expect(refused.exitCode == 2, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("-65541"))
    }
}
