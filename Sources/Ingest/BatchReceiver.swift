import Foundation
import Uplink

/// One batch as it arrived over HTTP: the body and the headers that say how to read it.
public struct IncomingBatch: Sendable {
    /// The request body as received (compressed when `contentEncoding` is deflate).
    public var body: [UInt8]
    /// The `Content-Type` header, if any.
    public var contentType: String?
    /// The `Content-Encoding` header, if any.
    public var contentEncoding: String?

    public init(body: [UInt8], contentType: String?, contentEncoding: String?) {
        self.body = body
        self.contentType = contentType
        self.contentEncoding = contentEncoding
    }
}

/// Takes one batch from the wire to a stored row and an acknowledgement: checks the media type
/// and content coding, inflates within the size limit, looks up the enrolled key by the batch's
/// device id and kid, verifies the signature, applies the acceptance rules and stores.
///
/// It does no HTTP itself, so every rule is testable without a server; `IngestServer` maps its
/// results to responses.
public struct BatchReceiver: Sendable {
    /// The enrolled keys.
    public let keys: KeyRegistry
    /// Where accepted batches go.
    public let store: any BatchStore
    /// The largest body accepted, before and after inflating, in bytes.
    public let maxBodyBytes: Int

    /// Called after the store committed a new batch (never for a duplicate or a refusal), before
    /// the acknowledgement is sent: the live view's feed (docs/live-view.md).
    public var onStored: OnStored?

    /// What `onStored` gets: the device, the batch, the store's decision and when it arrived.
    public typealias OnStored = @Sendable (_ device: String, _ batch: VerifiedBatch, _ acceptance: Acceptance, _ receivedAt: Date) async -> Void

    /// 4 MiB: a lampd batch is far smaller (its `max_batch_bytes` default is 256 KiB).
    public static let defaultMaxBodyBytes = 4 * 1024 * 1024

    public init(keys: KeyRegistry, store: any BatchStore, maxBodyBytes: Int = Self.defaultMaxBodyBytes, onStored: OnStored? = nil) {
        self.keys = keys
        self.store = store
        self.maxBodyBytes = maxBodyBytes
        self.onStored = onStored
    }

    /// Receives one batch; throws the `IngestError` that the HTTP error response carries.
    public func receive(_ incoming: IncomingBatch, at time: Date = Date()) async throws(IngestError) -> BatchAcknowledgement {
        try Self.checkContentType(incoming.contentType)
        guard incoming.body.count <= maxBodyBytes else {
            throw IngestError(.bodyTooLarge, "the body has \(incoming.body.count) bytes, over this receiver's limit of \(maxBodyBytes)")
        }
        let bytes = try decode(incoming.body, encoding: incoming.contentEncoding)
        // Decoded once: the envelope names the key to verify with; nothing in it is trusted before.
        let envelope: SignedEnvelope
        do {
            envelope = try BatchVerifier.open(bytes: bytes)
        } catch {
            throw IngestError(error)
        }
        let publicKey = try keys.keys.key(device: envelope.deviceID, kid: envelope.kid)
        let batch: VerifiedBatch
        do {
            batch = try envelope.verify(with: publicKey)
        } catch {
            throw IngestError(error)
        }
        let decision = try await store.accept(batch, bytes: bytes, publicKey: publicKey, receivedAt: time)
        var ack = BatchAcknowledgement(
            status: .stored, device: batch.deviceID, kid: batch.kid.hexString, sequence: batch.sequence, hash: batch.hash.hexString)
        switch decision {
        case .duplicate:
            ack.status = .duplicate
        case .conflict(let storedHash):
            throw IngestError(
                .sequenceConflict,
                "another batch with sequence \(batch.sequence) of key \(ack.kid) is stored already (hash \(storedHash.hexString)): "
                    + "a board restored from an old backup, or a forgery — check the board, then rotate its key")
        case .store(let gap, _):
            ack.gap = gap.map { BatchAcknowledgement.Gap(expected: $0.expected, received: $0.received) }
            await onStored?(batch.deviceID, batch, decision, time)
        }
        return ack
    }

    /// Accepts `application/cose` (parameters such as `cose-type="cose-sign1"` allowed).
    static func checkContentType(_ contentType: String?) throws(IngestError) {
        let mediaType = contentType?.split(separator: ";", maxSplits: 1).first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/cose" else {
            throw IngestError(
                .unsupportedMediaType,
                "Content-Type is \(contentType.map { "\"\($0)\"" } ?? "missing"); send a batch as "
                    + "application/cose; cose-type=\"cose-sign1\"")
        }
    }

    /// The uncompressed batch: the body itself, or the body inflated (never over `maxBodyBytes`).
    func decode(_ body: [UInt8], encoding: String?) throws(IngestError) -> [UInt8] {
        let coding = encoding?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        switch coding {
        case "", "identity":
            return body
        case BodyCompression.contentEncoding:
            do {
                return try BodyCompression.inflate(body, maxOutputBytes: maxBodyBytes)
            } catch {
                throw IngestError(error)
            }
        default:
            throw IngestError(
                .unsupportedEncoding, "Content-Encoding \"\(encoding ?? "")\" is not supported; send deflate or no encoding")
        }
    }
}
