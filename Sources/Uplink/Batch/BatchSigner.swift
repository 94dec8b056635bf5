import Crypto

/// One signed batch, as it goes on the wire: a tagged COSE_Sign1 over a SenML pack.
public struct SignedBatch: Hashable, Sendable {
    /// The complete COSE_Sign1 (tag 18) bytes: what is sent, and what `hash` covers.
    public var bytes: [UInt8]
    /// The batch sequence number in its header.
    public var sequence: UInt64
    /// Spool sequence of the first record (delete from here once acknowledged).
    public var firstSpoolSequence: Int64
    /// Spool sequence of the last record.
    public var lastSpoolSequence: Int64
    /// SHA-256 of `bytes`: the next batch's `previousHash`.
    public var hash: [UInt8]

    public init(bytes: [UInt8], sequence: UInt64, firstSpoolSequence: Int64, lastSpoolSequence: Int64, hash: [UInt8]) {
        self.bytes = bytes
        self.sequence = sequence
        self.firstSpoolSequence = firstSpoolSequence
        self.lastSpoolSequence = lastSpoolSequence
        self.hash = hash
    }
}

/// Signs SenML payloads with the device key as COSE_Sign1 (RFC 9052 §4.2), alg EdDSA.
///
/// The caller keeps the chain: `sequence` must be the previous batch's + 1 (1 for the first
/// batch signed with this key) and `previousHash` the previous batch's `hash` (empty for the
/// very first batch of the device). Both must be stored durably before the batch is sent, so a
/// restart never signs two different batches with the same sequence number.
public struct BatchSigner: Sendable {
    /// Who signs.
    public let identity: DeviceIdentity

    public init(identity: DeviceIdentity) {
        self.identity = identity
    }

    /// Signs `payload`. `spoolBacklog` is the number of records still in the spool after the
    /// payload's at this moment (the `spool backlog` header, -65541); nil leaves it out. The
    /// bytes are then fixed: a retransmission carries the same number.
    public func sign(payload: BatchPayload, sequence: UInt64, previousHash: [UInt8], spoolBacklog: UInt64? = nil) -> SignedBatch {
        var header: [CBORValue: CBORValue] = [
            COSEHeader.algorithm: .int(COSEHeader.edDSA),
            COSEHeader.contentType: .unsigned(COSEHeader.senMLCBORContentFormat),
            COSEHeader.keyID: .bytes(identity.key.publicKey.kid),
            COSEHeader.deviceID: .text(identity.deviceID.rawValue),
            COSEHeader.batchSequence: .unsigned(sequence),
            COSEHeader.previousBatchHash: .bytes(previousHash),
            COSEHeader.spoolSequenceRange: [.int(payload.firstSpoolSequence), .int(payload.lastSpoolSequence)],
        ]
        // A receiver stores it as a SQL integer: never above 2^63 − 1.
        if let spoolBacklog { header[COSEHeader.spoolBacklog] = .unsigned(min(spoolBacklog, UInt64(Int64.max))) }
        let protectedBytes = CBORValue.map(header).encoded()
        let signature = identity.key.signature(for: Self.toBeSigned(protected: protectedBytes, payload: payload.bytes))
        let message: CBORValue = .tagged(
            COSEHeader.sign1Tag,
            [.bytes(protectedBytes), .map([:]), .bytes(payload.bytes), .bytes(signature)]
        )
        let bytes = message.encoded()
        return SignedBatch(
            bytes: bytes,
            sequence: sequence,
            firstSpoolSequence: payload.firstSpoolSequence,
            lastSpoolSequence: payload.lastSpoolSequence,
            hash: Array(SHA256.hash(data: bytes))
        )
    }

    /// The Sig_structure of RFC 9052 §4.4: `["Signature1", protected, external_aad = h'', payload]`.
    static func toBeSigned(protected: [UInt8], payload: [UInt8]) -> [UInt8] {
        COSEHeader.toBeSigned(protected: protected, payload: payload)
    }
}
