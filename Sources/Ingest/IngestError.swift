import SystemSupport
import Uplink

/// The one error type of lamp-ingest: why a batch was refused, or why a command could not run.
///
/// `code` is stable: for a refused batch it is the `error` field of the JSON body that
/// docs/uplink.md §6 defines, and `httpStatus` the status that goes with it. `message` says what
/// happened and what to do.
public struct IngestError: ActionableError, Equatable {
    /// Stable machine-readable error codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The body is not a COSE_Sign1 batch (not CBOR, wrong structure, wrong algorithm, crit).
        case malformedBatch = "malformed-batch"
        /// The signed payload is not the SenML pack lampd sends.
        case malformedPayload = "malformed-payload"
        /// The body is not valid for its content coding (a broken zlib stream).
        case malformedBody = "malformed-body"
        /// The device id in the batch is not enrolled.
        case unknownDevice = "unknown-device"
        /// The device is enrolled, but not with the key (kid) that signed the batch.
        case unknownKey = "unknown-key"
        /// The signature does not match the enrolled key: altered, or signed by another key.
        case badSignature = "bad-signature"
        /// A different batch with this device, key and sequence is stored already.
        case sequenceConflict = "sequence-conflict"
        /// The body, or the body after inflating, is over the receiver's limit.
        case bodyTooLarge = "body-too-large"
        /// The Content-Type is not `application/cose`.
        case unsupportedMediaType = "unsupported-media-type"
        /// The Content-Encoding is neither absent, `identity` nor `deflate`.
        case unsupportedEncoding = "unsupported-encoding"
        /// The store could not take the batch now (database locked, disk full): retry later.
        case busy = "busy"
        /// No such path, or not for this HTTP method.
        case notFound = "not-found"
        /// The enrolled-keys file or an enrolment request is invalid.
        case invalidEnrollment = "invalid-enrollment"
        /// The database could not be opened, read or written.
        case storeFailed = "store-failed"
        /// A command-line value is not usable.
        case invalidArgument = "invalid-argument"
    }

    /// Stable identifier of what went wrong.
    public var reason: Code

    /// `reason` as its stable text (`ActionableError`).
    public var code: String { reason.rawValue }
    /// What happened and what to do.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.reason = code
        self.message = message
    }

    /// The HTTP status a refused batch gets (docs/uplink.md §6).
    public var httpStatus: Int {
        switch reason {
        case .malformedBatch, .malformedPayload, .malformedBody, .invalidArgument: 400
        case .unknownDevice, .unknownKey: 401
        case .badSignature: 403
        case .notFound: 404
        case .sequenceConflict: 409
        case .bodyTooLarge: 413
        case .unsupportedMediaType, .unsupportedEncoding: 415
        case .busy: 503
        case .invalidEnrollment, .storeFailed: 500
        }
    }

    public var description: String { "[\(code)] \(message)" }

    /// The receiver's view of an error from verifying or inflating a batch.
    init(_ error: UplinkError) {
        let code: Code =
            switch error.reason {
            case .malformedPayload: .malformedPayload
            case .malformedBody: .malformedBody
            case .bodyTooLarge: .bodyTooLarge
            case .unknownKey: .unknownKey
            case .badSignature: .badSignature
            case .invalidDeviceID: .unknownDevice
            default: .malformedBatch
            }
        self.init(code, error.message)
    }
}
