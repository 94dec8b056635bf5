import CivilTime
import Foundation

/// An IANA zone from this machine's tzdata (/usr/share/zoneinfo), as lampd loads it on the board
/// (tzdata is installed on every build machine).
public func systemZone(_ identifier: String) throws -> ZoneInfo {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "/usr/share/zoneinfo/" + identifier)))
    return try ZoneInfo(identifier: identifier, tzif: bytes)
}

/// A date written in ISO 8601 (`2026-03-29T01:30:00Z`) in a test; traps on a typo, which is a test bug.
public func iso(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
