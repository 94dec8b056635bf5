import Crypto
import FoundationEssentials

/// A board's Ed25519 public key: what an installer registers upstream and a receiver verifies with.
///
/// - `kid` (key id, sent in every batch): the first 8 bytes of SHA-256 over the 32-byte raw
///   public key. `kidHex` is the same 8 bytes as 16 lower-case hex digits.
/// - `fingerprint` (for reading aloud at the pole): the first 16 bytes of SHA-256 over the raw
///   public key, upper-case hex in groups of 4 separated by `:`, e.g. `3F2A:09C1:…` (8 groups).
/// - `base64`: standard base64 of the 32 raw bytes (RFC 8032 encoding of the point).
/// - `pem`: `-----BEGIN PUBLIC KEY-----` SubjectPublicKeyInfo with OID 1.3.101.112 (RFC 8410),
///   readable by `openssl pkey -pubin`.
public struct DevicePublicKey: Hashable, Sendable {
    /// The 32 raw bytes of the Ed25519 public key.
    public let rawRepresentation: [UInt8]

    /// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4): SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING }.
    static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    public init(rawRepresentation: some Collection<UInt8>) throws(UplinkError) {
        let raw = Array(rawRepresentation)
        guard raw.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else {
            throw UplinkError(.invalidPublicKey, "an Ed25519 public key has 32 bytes, this one \(raw.count)")
        }
        self.rawRepresentation = raw
    }

    /// Reads the key from base64 of its 32 raw bytes (what `lampctl identity show` prints).
    public init(base64: String) throws(UplinkError) {
        guard let data = Data(base64Encoded: String(base64.filter { !$0.isWhitespace })) else {
            throw UplinkError(.invalidPublicKey, "public key is not base64: copy it from `lampctl identity show`")
        }
        try self.init(rawRepresentation: data)
    }

    /// Reads the key from a PEM SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`).
    public init(pem: String) throws(UplinkError) {
        let body = pem.split(whereSeparator: \.isNewline)
            .filter { !$0.hasPrefix("-----") }
            .joined()
        guard let der = Data(base64Encoded: body), der.count == 44, Array(der.prefix(12)) == Self.spkiPrefix else {
            throw UplinkError(.invalidPublicKey, "not a PEM Ed25519 public key (SubjectPublicKeyInfo, OID 1.3.101.112)")
        }
        try self.init(rawRepresentation: der.dropFirst(12))
    }

    /// Key id sent in each batch: the first 8 bytes of SHA-256(raw public key).
    public var kid: [UInt8] { Array(SHA256.hash(data: rawRepresentation).prefix(8)) }

    /// `kid` as 16 lower-case hex digits.
    public var kidHex: String { kid.hexString }

    /// First 16 bytes of SHA-256(raw public key), upper-case hex in 8 groups of 4, joined by `:`.
    public var fingerprint: String {
        let digits = SHA256.hash(data: rawRepresentation).prefix(16).hexString.uppercased()
        var groups: [String] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let end = digits.index(index, offsetBy: 4)
            groups.append(String(digits[index..<end]))
            index = end
        }
        return groups.joined(separator: ":")
    }

    /// Standard base64 of the 32 raw bytes.
    public var base64: String { Data(rawRepresentation).base64EncodedString() }

    /// PEM SubjectPublicKeyInfo (RFC 8410), ending with a newline.
    public var pem: String {
        let der = Data(Self.spkiPrefix + rawRepresentation).base64EncodedString()
        return "-----BEGIN PUBLIC KEY-----\n\(der)\n-----END PUBLIC KEY-----\n"
    }

    /// True if `signature` is this key's Ed25519 signature over `message`.
    public func isValidSignature(_ signature: some DataProtocol, for message: some DataProtocol) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
