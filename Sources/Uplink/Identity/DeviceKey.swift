import Crypto
import FoundationEssentials

/// The board's Ed25519 signing key (principle 3: it is made on the board and never leaves it).
///
/// Its description shows only the key id, so logging one never leaks the private key;
/// the private bytes are reachable only by `DeviceKeyStore`, which writes them to the key file.
public struct DeviceKey: Sendable, CustomStringConvertible {
    /// The 32-byte Ed25519 seed. Kept as bytes because swift-crypto's key type is not `Sendable`.
    let seed: [UInt8]

    /// The public half, with its kid and fingerprint.
    public let publicKey: DevicePublicKey

    init(privateKey: Curve25519.Signing.PrivateKey) {
        self.seed = Array(privateKey.rawRepresentation)
        // A public key made by swift-crypto is always 32 valid bytes.
        self.publicKey = try! DevicePublicKey(rawRepresentation: privateKey.publicKey.rawRepresentation)
    }

    /// A new random key.
    public static func generate() -> DeviceKey { DeviceKey(privateKey: Curve25519.Signing.PrivateKey()) }

    /// A key from a 32-byte seed. For tests and the documentation's example only: a board's key
    /// comes from `generate()`.
    public init(seed: some Collection<UInt8>) throws(UplinkError) {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: Array(seed)) else {
            throw UplinkError(.keyUnreadable, "an Ed25519 seed has 32 bytes")
        }
        self.init(privateKey: key)
    }

    /// Reads an Ed25519 private key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 8410 §7),
    /// as `DeviceKeyStore` and `openssl genpkey -algorithm ed25519` write it; nil when it is not one.
    public init?(pkcs8PEM text: String) {
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard text.hasPrefix("-----BEGIN PRIVATE KEY-----"), let der = Data(base64Encoded: body), der.count == 48,
              Array(der.prefix(16)) == DeviceKeyStore.pkcs8Prefix, let key = try? DeviceKey(seed: der.dropFirst(16))
        else { return nil }
        self = key
    }

    /// The Ed25519 signature (64 bytes) over `message`.
    public func signature(for message: some DataProtocol) -> [UInt8] {
        // Signing with a valid key does not fail in BoringSSL's Ed25519.
        let privateKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        return Array(try! privateKey.signature(for: message))
    }

    public var description: String { "DeviceKey(kid: \(publicKey.kidHex))" }
}

/// Who signs: the configured device id and the board's key.
public struct DeviceIdentity: Sendable, CustomStringConvertible {
    /// The board's id from the configuration.
    public var deviceID: DeviceID
    /// The current signing key.
    public var key: DeviceKey

    public init(deviceID: DeviceID, key: DeviceKey) {
        self.deviceID = deviceID
        self.key = key
    }

    public var description: String { "DeviceIdentity(\(deviceID), kid: \(key.publicKey.kidHex))" }
}
