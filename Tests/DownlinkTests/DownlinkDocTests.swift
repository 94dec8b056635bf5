import Foundation
import Testing
import TestSupport
@testable import Downlink
import Uplink

/// docs/downlink.md's example document must stay true: it verifies with the documented test
/// key and is byte for byte what the signer makes today (Ed25519 is deterministic).
@Suite("docs/downlink.md example")
struct DownlinkDocTests {
    typealias F = DownlinkFixtures
    static let docURL = DocumentedHex.docURL("downlink.md")

    /// The example: an operator override for pole-0042 (short, so the page stays readable).
    static var example: DesiredState {
        DesiredState(deviceID: "pole-0042", version: 12, issuedAtSeconds: 1_790_856_000, expiresAtSeconds: 1_790_942_400,
                     override: CityOverride(levelPercent: 100, startSeconds: 1_790_877_600, expirySeconds: 1_790_899_200,
                                            rampSeconds: 30, reason: "festival"))
    }

    static func documentedHex() throws -> String {
        try DocumentedHex.hex(in: docURL, after: "<!-- example-desired-state -->")
    }

    @Test func theDocumentedExampleVerifiesAndIsCurrent() throws {
        let fresh = DesiredStateSigner(key: F.operatorKey).sign(Self.example)
        let documented = [UInt8](hexString: try Self.documentedHex()) ?? []
        #expect(documented == fresh, "docs/downlink.md's example is out of date; current example:\n\(fresh.hexString)")
        let board = BoardDownlinkState(deviceID: "pole-0042", nowSeconds: 1_790_856_100, clockSynchronised: true, maximumOverrideSeconds: 43_200)
        let verified = try DesiredStateVerifier(keyring: F.keyring).verify(documented, board: board)
        #expect(verified.state == Self.example)
        #expect(F.operatorKey.publicKey.kidHex == "\(verified.kidHex)")
    }
}
