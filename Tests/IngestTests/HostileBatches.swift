import Foundation
import Ingest
import Logging
import Telemetry
import Uplink
@testable import Uplink

/// Validly signed batches with whatever header and payload a test wants: what a buggy or
/// compromised board could send with its own enrolled key.
struct HostileSigner {
    let board: TestBoard

    /// A protected header like lampd's, with the given values.
    func protectedHeader(
        sequence: CBORValue = .unsigned(1), previousHash: CBORValue = .bytes([]), range: CBORValue = [1, 1],
        extra: [CBORValue: CBORValue] = [:]
    ) -> CBORValue {
        var header: [CBORValue: CBORValue] = [
            COSEHeader.algorithm: .int(COSEHeader.edDSA),
            COSEHeader.contentType: .unsigned(COSEHeader.senMLCBORContentFormat),
            COSEHeader.keyID: .bytes(board.publicKey.kid),
            COSEHeader.deviceID: .text(board.device),
            COSEHeader.batchSequence: sequence,
            COSEHeader.previousBatchHash: previousHash,
            COSEHeader.spoolSequenceRange: range,
        ]
        header.merge(extra) { _, new in new }
        return .map(header)
    }

    /// One ordinary SenML reading record (the first of a pack: with bn and bt).
    static func record(bt: CBORValue = 1_759_341_600, t: CBORValue = 0, extra: [CBORValue: CBORValue] = [:]) -> CBORValue {
        var fields: [CBORValue: CBORValue] = [
            SenMLLabel.baseName: "urn:dev:lampd:pole-0042:", SenMLLabel.baseTime: bt,
            SenMLLabel.name: "lamp1/power", SenMLLabel.unit: "W", SenMLLabel.value: 41.5, SenMLLabel.time: t,
        ]
        fields.merge(extra) { _, new in new }
        return .map(fields)
    }

    /// Signs `payload` (any CBOR value, or raw bytes) under `protected`, with `unprotected`.
    func sign(protected: CBORValue? = nil, unprotected: CBORValue = .map([:]), payload: CBORValue) -> [UInt8] {
        sign(protected: protected, unprotected: unprotected, payloadBytes: payload.encoded())
    }

    func sign(protected: CBORValue? = nil, unprotected: CBORValue = .map([:]), payloadBytes: [UInt8]) -> [UInt8] {
        let protectedBytes = (protected ?? protectedHeader()).encoded()
        let signature = board.identity.key.signature(for: BatchSigner.toBeSigned(protected: protectedBytes, payload: payloadBytes))
        return CBORValue.tagged(
            COSEHeader.sign1Tag, [.bytes(protectedBytes), unprotected, .bytes(payloadBytes), .bytes(signature)]
        ).encoded()
    }
}

/// A receiver over a temporary database with `board` enrolled (no HTTP: `receive` is what the
/// server calls for each POST).
struct ReceiverFixture {
    let directory: URL
    let receiver: BatchReceiver

    init(enrolling board: TestBoard) throws {
        directory = try temporaryDirectory()
        let keysPath = directory.appendingPathComponent("enrolled-keys").path
        try EnrolledKeys.enroll(device: board.identity.deviceID, key: board.publicKey, comment: nil, path: keysPath)
        let store = try IngestStore(path: directory.appendingPathComponent("ingest.sqlite").path)
        receiver = BatchReceiver(keys: try KeyRegistry(path: keysPath, logger: Logger(label: "hostile")), store: store)
    }

    /// The receiver's answer: the acknowledgement, or the error the HTTP answer would carry.
    func receive(_ bytes: [UInt8]) async -> Result<BatchAcknowledgement, IngestError> {
        do {
            return .success(try await receiver.receive(IncomingBatch(body: bytes, contentType: "application/cose", contentEncoding: nil)))
        } catch {
            return .failure(error)
        }
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
