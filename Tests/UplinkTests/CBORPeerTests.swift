import Foundation
import Testing
import TestSupport

@testable import Uplink

/// Cross-checks the CBOR codec against Python's cbor2, an independent implementation.
@Suite("CBOR: cross-check with Python cbor2")
struct CBORPeerTests {
    @Test("cbor2 decodes what Swift encodes")
    func cbor2DecodesSwift() async throws {
        try await PythonPeer.requireModules("cbor2")
        let cases: [(CBORValue, String)] = [
            (.unsigned(.max), "18446744073709551615"),
            (.negative(.max), "-18446744073709551616"),
            (.int(-500), "-500"),
            (.float(1.5), "1.5"),
            (.float(100_000.25), "100000.25"),
            (.float(-0.0), "-0.0"),
            (.float(1e300), "1e+300"),
            (.float(.infinity), "inf"),
            (.bytes([0, 255]), "b'\\x00\\xff'"),
            ("Straßenlaterne ☀", "'Straßenlaterne ☀'"),
            ([1, "a", [true, false, .null]], "[1, 'a', [True, False, None]]"),
            (.map(["b": 1, "a": .map([2: 3])]), "{'a': {2: 3}, 'b': 1}"),
            (.tagged(1000, "x"), "CBORTag(1000, 'x')"),
            (.undefined, "undefined"),
        ]
        let input = cases.map { hex($0.0.encoded()) }.joined(separator: "\n")
        let result = try await PythonPeer.run([PythonPeer.script("cbor_peer.py"), "decode"], input: input)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == cases.count, "\(result.stdout)")
        for (index, (_, expected)) in cases.enumerated() {
            #expect(lines[index] == expected)
        }
    }

    @Test("Swift decodes what cbor2 encodes")
    func swiftDecodesCbor2() async throws {
        try await PythonPeer.requireModules("cbor2")
        let cases: [(String, CBORValue)] = [
            ("2**64 - 1", .unsigned(.max)),
            ("-2**64", .negative(.max)),
            ("-2**63", .int(.min)),
            ("0.1", .float(0.1)),
            ("1.5", .float(1.5)),
            ("float('-inf')", .float(-.infinity)),
            ("b'\\x01\\x02'", .bytes([1, 2])),
            ("'Ampel \u{00fc}'", "Ampel \u{00fc}"),
            ("[1, [2, 3], {'n': 'lamp1/power', 'v': 42.5}]", [1, [2, 3], .map(["n": "lamp1/power", "v": 42.5])]),
            ("{-2: 'urn:dev:lampd:pole-1:', 0: 'x', 2: 230}", .map([-2: "urn:dev:lampd:pole-1:", 0: "x", 2: 230])),
            ("CBORTag(18, [b'', {}, None, b''])", .tagged(18, [.bytes([]), .map([:]), .null, .bytes([])])),
            ("None", .null),
            ("CBORSimpleValue(99)", .simple(CBORSimpleValue(99)!)),
        ]
        let result = try await PythonPeer.run(
            [PythonPeer.script("cbor_peer.py"), "encode"], input: cases.map(\.0).joined(separator: "\n"))
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == cases.count, "\(result.stdout)")
        for (index, (expression, expected)) in cases.enumerated() {
            let decoded = try CBORDecoder().decode(bytes(hex: lines[index]))
            #expect(decoded == expected, "\(expression)")
            // cbor2's canonical mode and lampd's deterministic encoding agree byte for byte.
            #expect(hex(decoded.encoded()) == lines[index], "\(expression)")
        }
    }
}
