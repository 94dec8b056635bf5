/// Header labels and constants of lampd's COSE_Sign1 batches (RFC 9052, docs/uplink.md).
///
/// lampd's own labels are private-use (below −65536, RFC 9052 §11.1 "Private Use"), so they
/// never collide with registered ones.
public enum COSEHeader {
    /// CBOR tag of a COSE_Sign1 message.
    public static let sign1Tag: UInt64 = 18
    /// `alg` (1).
    public static let algorithm: CBORValue = .int(1)
    /// `crit` (2): lampd never sets it and refuses batches that do.
    public static let critical: CBORValue = .int(2)
    /// `content type` (3).
    public static let contentType: CBORValue = .int(3)
    /// `kid` (4): the first 8 bytes of SHA-256 of the signing key's raw public key.
    public static let keyID: CBORValue = .int(4)
    /// lampd: the device id (text).
    public static let deviceID: CBORValue = .int(-65537)
    /// lampd: the batch sequence number (unsigned; 1 for the first batch of a key, then +1).
    public static let batchSequence: CBORValue = .int(-65538)
    /// lampd: SHA-256 of the previous batch's complete COSE_Sign1 bytes (32 bytes), or empty.
    public static let previousBatchHash: CBORValue = .int(-65539)
    /// lampd: `[first, last]` spool sequence numbers of the records in the batch.
    public static let spoolSequenceRange: CBORValue = .int(-65540)
    /// lampd: records still in the board's spool after this batch's, when it was signed (uint,
    /// at most 2^63 − 1). Optional: boards before it do not send it.
    public static let spoolBacklog: CBORValue = .int(-65541)

    /// EdDSA (RFC 9053 §2.2), the only algorithm lampd signs and accepts.
    public static let edDSA: Int64 = -8
    /// CoAP content format of `application/senml+cbor` (RFC 8428 §12.3).
    public static let senMLCBORContentFormat: UInt64 = 112

    /// The Sig_structure of RFC 9052 §4.4 that a COSE_Sign1 signs:
    /// `["Signature1", protected, external_aad = h'', payload]`.
    public static func toBeSigned(protected: [UInt8], payload: [UInt8]) -> [UInt8] {
        CBORValue.array([.text("Signature1"), .bytes(protected), .bytes([]), .bytes(payload)]).encoded()
    }
}
