import SystemSupport
/// The one error type of the Uplink area: the device key, building, signing and verifying batches,
/// the uplink's state file and its TLS files.
///
/// `code` is stable (scripts, `lampctl --json`, the receiver's rejection reasons match on it);
/// `message` says what happened and what to do. CBOR problems inside a batch keep the
/// `CBORError` (with its byte offset) as `underlying`.
public struct UplinkError: ActionableError {
    /// Stable machine-readable error codes.
    public enum Code: String, Sendable, Hashable {
        /// A device id is empty, too long or has characters SenML names do not allow.
        case invalidDeviceID = "uplink.invalid-device-id"
        /// No device key in the state directory.
        case keyMissing = "uplink.key-missing"
        /// A device key exists already and would be overwritten.
        case keyExists = "uplink.key-exists"
        /// The key file can be read by group or others.
        case keyPermissions = "uplink.key-permissions"
        /// The key file could not be read, or does not hold an Ed25519 private key.
        case keyUnreadable = "uplink.key-unreadable"
        /// The key file could not be written (state directory missing, read-only, full).
        case keyWriteFailed = "uplink.key-write-failed"
        /// A public key given as base64 or PEM is not an Ed25519 public key.
        case invalidPublicKey = "uplink.invalid-public-key"
        /// The records cannot form a batch (none given).
        case emptyBatch = "uplink.empty-batch"
        /// The bytes are not a COSE_Sign1 (tag 18) with the structure RFC 9052 requires.
        case malformedBatch = "uplink.malformed-batch"
        /// The batch is signed with an algorithm other than EdDSA (-8).
        case unsupportedAlgorithm = "uplink.unsupported-algorithm"
        /// The batch names a key id (kid) other than the key it is checked against.
        case unknownKey = "uplink.unknown-key"
        /// The signature does not match: the batch was altered or signed by another key.
        case badSignature = "uplink.bad-signature"
        /// The signed payload is not the SenML pack lampd sends.
        case malformedPayload = "uplink.malformed-payload"
        /// An HTTP body is not valid for its content coding (a broken zlib stream).
        case malformedBody = "uplink.malformed-body"
        /// A body is (or inflates to) more than the receiver accepts.
        case bodyTooLarge = "uplink.body-too-large"
        /// The uplink's state file (`uplink-state.json`) cannot be read or holds impossible numbers.
        case ledgerUnreadable = "uplink.ledger-unreadable"
        /// A TLS file named in `[uplink]` (CA bundle, client certificate or key) cannot be loaded.
        case tlsFileUnreadable = "uplink.tls-file-unreadable"
        /// The receiver's URL cannot be used (scheme, host, port outside 1…65535, user name or password).
        case invalidURL = "uplink.invalid-url"
    }

    /// Stable identifier of what went wrong.
    public var reason: Code

    /// `reason` as its stable text (`ActionableError`).
    public var code: String { reason.rawValue }
    /// What happened and what to do.
    public var message: String
    /// The error this one wraps, if any (a `CBORError`, an errno).
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.reason = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying {
            return "[\(code)] \(message) (\(underlying))"
        }
        return "[\(code)] \(message)"
    }
}
