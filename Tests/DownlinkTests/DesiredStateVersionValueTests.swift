import Telemetry
import TestSupport
import Testing
@testable import Downlink

/// The version in the board's downlink events: exact for every version a document may carry.
@Suite("Desired-state version in events")
struct DesiredStateVersionValueTests {
    @Test func everyVersionComesBackExactly() {
        let versions: [UInt64] = [1, 12, 1 << 53 - 1, 1 << 53, 1 << 53 + 1, 1 << 60 + 7, UInt64(Int64.max)]
        for version in versions {
            #expect(DesiredStateVersionValue.version(DesiredStateVersionValue.value(version)) == version, "version \(version)")
        }
        #expect(DesiredStateVersionValue.value(1 << 53) == .number(9_007_199_254_740_992), "what boards always sent stays a number")
        #expect(DesiredStateVersionValue.value(1 << 53 + 1) == .string("9007199254740993"))
    }

    /// Before, the city read a number ≥ 2^53 as the nearest double: 2^53 + 1 arrived as 2^53.
    @Test func valuesThatNameNoVersionAreNotAVersion() {
        let hostile: [ReadingValue?] = [
            nil, .number(0), .number(-1), .number(1.5), .number(.nan), .number(.infinity), .number(1e300),
            .number(9_007_199_254_740_994), .string(""), .string("abc"), .string("-5"), .string("0"), .string(" 7"),
            .string("9223372036854775808"), .string("99999999999999999999"), .string("1e3"), .boolean(true),
        ]
        for value in hostile {
            #expect(DesiredStateVersionValue.version(value) == nil, "\(String(describing: value))")
        }
    }

    @Test func aSeededFuzzOfTextNeverTraps() {
        var random = SeededRandom(seed: 53)
        for _ in 0..<5_000 {
            let bytes = random.bytes(Int(random.next() % 24))
            let text = String(decoding: bytes.map { 0x2F + $0 % 12 }, as: UTF8.self)  // mostly digits, some '/' and ':'
            if let version = DesiredStateVersionValue.version(.string(text)) {
                #expect(text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber))
                #expect(version >= 1 && version <= UInt64(Int64.max))
            }
        }
    }
}
