import Uplink

/// COSE_Sign1 header values of a desired state (docs/downlink.md, "Envelope").
public enum DesiredStateHeader {
    /// The content type in the protected header (label 3).
    public static let contentType = "application/lampd-desired-state+cbor"
}

/// Signs desired states with a city role key (the city side: `lamp-ingest`, or another
/// implementation of docs/downlink.md).
///
/// The message is a tagged COSE_Sign1 (RFC 9052 §4.2): protected header `{1: -8 (EdDSA),
/// 3: content type, 4: kid}`, an empty unprotected header, the `DesiredStateCodec` payload and
/// the Ed25519 signature over the Sig_structure with an empty external AAD.
public struct DesiredStateSigner: Sendable {
    /// The role key (an Ed25519 key: `Uplink.DeviceKey` is the type of every signing key).
    public let key: DeviceKey

    public init(key: DeviceKey) {
        self.key = key
    }

    /// The complete COSE_Sign1 bytes of `state`.
    public func sign(_ state: DesiredState) -> [UInt8] {
        let protected: CBORValue = .map([
            COSEHeader.algorithm: .int(COSEHeader.edDSA),
            COSEHeader.contentType: .text(DesiredStateHeader.contentType),
            COSEHeader.keyID: .bytes(key.publicKey.kid),
        ])
        let protectedBytes = protected.encoded()
        let payload = DesiredStateCodec.encode(state).encoded()
        let signature = key.signature(for: COSEHeader.toBeSigned(protected: protectedBytes, payload: payload))
        return CBORValue.tagged(COSEHeader.sign1Tag, [.bytes(protectedBytes), .map([:]), .bytes(payload), .bytes(signature)]).encoded()
    }
}
