import Foundation
import Testing
import TestSupport

@testable import Uplink

/// docs/uplink.md's example batch must stay true: it verifies with the documented test key,
/// and its headers and SenML pack are exactly what the code produces today.
@Suite("docs/uplink.md example")
struct UplinkDocTests {
    static let docURL = DocumentedHex.docURL("uplink.md")

    /// The example's parameters, as the page states them.
    static func exampleBatch() throws -> SignedBatch {
        let payload = try BatchBuilder(deviceID: Fixtures.deviceID).build(records: Fixtures.records)
        return BatchSigner(identity: Fixtures.identity)
            .sign(payload: payload, sequence: 42, previousHash: Array(0..<32), spoolBacklog: 17)
    }

    /// The hex of the example batch on the page.
    static func documentedHex() throws -> String {
        try DocumentedHex.hex(in: docURL, after: "<!-- example-batch -->")
    }

    @Test("the documented example batch verifies and matches the current format")
    func example() throws {
        let documented = bytes(hex: try Self.documentedHex())
        let fresh = try Self.exampleBatch()
        #expect(!documented.isEmpty, "no example in docs/uplink.md; current example:\n\(hex(fresh.bytes))")
        guard !documented.isEmpty else { return }
        let verified = try BatchVerifier.verify(bytes: documented, publicKey: Fixtures.key.publicKey)
        #expect(verified.sequence == 42)
        #expect(verified.deviceID == "pole-0042")
        // Everything but the signature is deterministic; Ed25519 (RFC 8032) is too, where the
        // platform's implementation is (BoringSSL on Linux).
        #expect(Array(documented.dropLast(64)) == Array(fresh.bytes.dropLast(64)),
            "docs/uplink.md's example is out of date; current example:\n\(hex(fresh.bytes))")
        #expect(Fixtures.key.publicKey.base64 == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    }
}
