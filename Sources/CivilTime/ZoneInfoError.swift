import SystemSupport

/// Why a zone file (TZif) or a POSIX TZ string could not be used; `code` is stable,
/// `description` says what to check.
///
/// Codes:
/// - `not-tzif`: the bytes are not a compiled zone file (wrong magic).
/// - `truncated`: the file ends before the data its header announces.
/// - `unsupported-version`: a version byte this reader does not know.
/// - `invalid-data`: the header and data disagree (index out of range, unsorted times, …).
/// - `unsupported-footer`: the file's TZ rule string for instants after its last transition
///   cannot be read.
/// - `invalid-tz-string`: a POSIX TZ string given on its own cannot be read.
public struct ZoneInfoError: ActionableError, Hashable {
    public let code: String
    public let description: String

    public init(code: String, _ description: String) {
        self.code = code
        self.description = description
    }

    /// What a technician can do about a damaged or foreign zone file.
    static let reinstallHint = "reinstall the tzdata package or check the zone name"

    static func notTZif(_ identifier: String) -> ZoneInfoError {
        ZoneInfoError(code: "not-tzif",
            "zone file for \(identifier) is not a TZif file (it does not start with \"TZif\") — \(reinstallHint)")
    }

    static func truncated(_ identifier: String, needed: Int, at offset: Int, size: Int, what: String) -> ZoneInfoError {
        ZoneInfoError(code: "truncated",
            "zone file for \(identifier) is truncated: \(what) needs \(needed) bytes at offset \(offset) "
                + "but the file has \(size) bytes — \(reinstallHint)")
    }

    static func unsupportedVersion(_ identifier: String, byte: UInt8) -> ZoneInfoError {
        ZoneInfoError(code: "unsupported-version",
            "zone file for \(identifier) has unknown TZif version byte 0x\(String(byte, radix: 16)) "
                + "(known: 0x00, '2', '3', '4' and later) — \(reinstallHint)")
    }

    static func invalid(_ identifier: String, _ what: String) -> ZoneInfoError {
        ZoneInfoError(code: "invalid-data", "zone file for \(identifier) is damaged: \(what) — \(reinstallHint)")
    }

    static func unsupportedFooter(_ identifier: String, _ footer: String, _ reason: String) -> ZoneInfoError {
        ZoneInfoError(code: "unsupported-footer",
            "zone file for \(identifier): its rule for instants after the last listed transition, "
                + "TZ string \"\(footer)\", cannot be read: \(reason) — \(reinstallHint)")
    }

    static func invalidTZString(_ identifier: String, _ text: String, _ reason: String) -> ZoneInfoError {
        ZoneInfoError(code: "invalid-tz-string",
            "TZ string \"\(text)\" for \(identifier) cannot be read: \(reason) "
                + "(expected e.g. \"CET-1CEST,M3.5.0,M10.5.0/3\")")
    }
}
