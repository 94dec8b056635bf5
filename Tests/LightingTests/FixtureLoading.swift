@testable import Lighting
import Foundation
import CivilTime

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
