import SystemSupport
/// Why a byte sequence is not acceptable CBOR, and where: the error of the CBOR codec.
///
/// `code` is stable; `offset` is the byte offset (from 0) in the input at which the problem was
/// found, so a hex dump of a rejected batch can be matched to the message.
public struct CBORError: ActionableError, Hashable {
    /// Stable machine-readable error codes.
    public enum Code: String, Sendable, Hashable {
        /// The input ends in the middle of a data item.
        case truncated = "cbor.truncated"
        /// A complete data item was followed by more bytes.
        case trailingBytes = "cbor.trailing-bytes"
        /// Additional information 28–30 (reserved; not well-formed, RFC 8949 §3).
        case reservedAdditionalInformation = "cbor.reserved-additional-information"
        /// An indefinite-length item: lampd accepts definite lengths only (RFC 8949 §4.2.1, RFC 9052 §9).
        case indefiniteLength = "cbor.indefinite-length"
        /// A two-byte simple value below 32 (not well-formed, RFC 8949 §3.3).
        case invalidSimpleValue = "cbor.invalid-simple-value"
        /// A text string that is not valid UTF-8.
        case invalidUTF8 = "cbor.invalid-utf8"
        /// Arrays, maps and tags nested deeper than the decoder's limit.
        case nestingTooDeep = "cbor.nesting-too-deep"
        /// A length larger than what is left of the input (refused before allocating anything).
        case lengthExceedsInput = "cbor.length-exceeds-input"
        /// The same key twice in one map (not valid, RFC 8949 §5.6).
        case duplicateMapKey = "cbor.duplicate-map-key"
    }

    /// Stable identifier of what is wrong.
    public var reason: Code

    /// `reason` as its stable text (`ActionableError`).
    public var code: String { reason.rawValue }
    /// Byte offset in the input where it was found.
    public var offset: Int
    /// What is wrong, in words.
    public var message: String

    public init(_ code: Code, at offset: Int, _ message: String) {
        self.reason = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "[\(code)] at byte \(offset): \(message)" }
}
