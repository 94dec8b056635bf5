/// The name of a measured quantity, following the SenML name rules so it can be
/// sent unchanged as a SenML `n` (RFC 8428 §4.5.1).
///
/// Allowed characters: `A`–`Z`, `a`–`z`, `0`–`9`, `-`, `:`, `.`, `/`, `_`; the first
/// character must be a letter or digit. Length is 1–128 characters (lampd's own limit,
/// to keep spool rows and uplink batches small). Example: `lamp1/power`, `cabinet.door`.
/// The uplink prefixes the board's base name (`bn`), so channel names stay short.
public struct ChannelName: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Maximum length in characters.
    public static let maximumLength = 128

    public let rawValue: String

    /// Validates `rawValue`; returns nil if it breaks the SenML rules.
    public init?(rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Validates `name`, throwing `TelemetryError.Code.invalidChannelName` with the reason.
    public init(_ name: String) throws(TelemetryError) {
        guard Self.isValid(name) else {
            throw TelemetryError(
                .invalidChannelName,
                "channel name \"\(name)\" is not a valid SenML name: use 1–\(Self.maximumLength) characters "
                    + "from A–Z a–z 0–9 - : . / _, starting with a letter or digit"
            )
        }
        self.rawValue = name
    }

    public var description: String { rawValue }

    public static func < (lhs: ChannelName, rhs: ChannelName) -> Bool { lhs.rawValue < rhs.rawValue }

    static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        func isAlphanumeric(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
        }
        guard isAlphanumeric(bytes[0]) else { return false }
        return bytes.allSatisfy { b in
            isAlphanumeric(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ":") || b == UInt8(ascii: ".")
                || b == UInt8(ascii: "/") || b == UInt8(ascii: "_")
        }
    }
}
