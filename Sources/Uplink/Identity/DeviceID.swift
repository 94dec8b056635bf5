/// The board's identifier as configured by the operator, e.g. `pole-0042` or `berlin-mitte-17`.
///
/// It names the board in every batch (COSE header and SenML base name `urn:dev:lampd:<id>:`), so
/// it is restricted to 1–64 characters from `A`–`Z a`–`z 0`–`9 - . _`, starting with a letter or
/// digit: safe in a SenML name, a URN, a file name and a log line.
public struct DeviceID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// Maximum length in characters.
    public static let maximumLength = 64

    public let rawValue: String

    public init?(rawValue: String) {
        let bytes = Array(rawValue.utf8)
        func isAlphanumeric(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
        }
        guard let first = bytes.first, isAlphanumeric(first), bytes.count <= Self.maximumLength,
            bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") })
        else { return nil }
        self.rawValue = rawValue
    }

    /// Like `init?(rawValue:)`, throwing `UplinkError.Code.invalidDeviceID` with advice.
    public init(_ id: String) throws(UplinkError) {
        guard let valid = DeviceID(rawValue: id) else {
            throw UplinkError(
                .invalidDeviceID,
                "device id \"\(id)\" is not usable: use 1–\(Self.maximumLength) characters from A–Z a–z 0–9 - . _, "
                    + "starting with a letter or digit (e.g. pole-0042)")
        }
        self = valid
    }

    public var description: String { rawValue }
}
