@testable import Lighting
import Foundation

/// Reads a committed test fixture from Tests/LightingTests/Fixtures.
enum Fixture {
    static func data(_ name: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw FixtureMissing(name: name)
        }
        return try Data(contentsOf: url)
    }

    struct FixtureMissing: Error { let name: String }
}

/// An IANA zone from this machine's tzdata (/usr/share/zoneinfo), as lampd loads it on the board
/// (tzdata is installed on every build machine).
func systemZone(_ identifier: String) throws -> ZoneInfo {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "/usr/share/zoneinfo/" + identifier)))
    return try ZoneInfo(identifier: identifier, tzif: bytes)
}
