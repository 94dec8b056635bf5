import Foundation
import Testing

@testable import Uplink

@Suite("CBOR: strict decoding and deterministic encoding")
struct CBORStrictnessTests {
    func error(_ input: String, maximumDepth: Int = 32) -> CBORError? {
        do {
            _ = try CBORDecoder(maximumDepth: maximumDepth).decode(bytes(hex: input))
            return nil
        } catch {
            return error
        }
    }

    @Test("malformed input is refused with a code and the offset of the problem")
    func malformed() {
        let cases: [(String, CBORError.Code, Int)] = [
            ("", .truncated, 0),
            ("18", .truncated, 1),  // argument missing
            ("1a0000", .truncated, 1),
            ("8301", .lengthExceedsInput, 0),  // array of 3, 1 byte left: refused at its head
            ("a101", .lengthExceedsInput, 0),  // map of 1 entry needs at least 2 bytes
            ("8118", .truncated, 2),  // the element's argument is missing
            ("82018202", .lengthExceedsInput, 2),  // the inner array announces more than is left
            ("0001", .trailingBytes, 1),
            ("1c", .reservedAdditionalInformation, 0),
            ("8201fd", .reservedAdditionalInformation, 2),
            ("f818", .invalidSimpleValue, 0),  // simple 24 in two bytes
            ("f805", .invalidSimpleValue, 0),
            ("ff", .indefiniteLength, 0),  // lone break
            ("62c328", .invalidUTF8, 0),
            ("63eda080", .invalidUTF8, 0),  // UTF-16 surrogate in UTF-8
            ("a201020103", .duplicateMapKey, 3),
            ("c6", .truncated, 1),  // tag without content
        ]
        for (input, code, offset) in cases {
            let found = error(input)
            #expect(found?.reason == code, "\(input)")
            #expect(found?.offset == offset, "\(input)")
        }
    }

    @Test("hostile lengths are refused before anything is allocated")
    func hostileLengths() {
        // 2^64−1 bytes, items and entries, each announced in a 9-byte head.
        for input in ["5bffffffffffffffff", "7bffffffffffffffff00", "9bffffffffffffffff", "bb8000000000000000"] {
            #expect(error(input)?.reason == .lengthExceedsInput, "\(input)")
        }
        // A million-element array in a few bytes.
        #expect(error("9a000f4240" + "00")?.reason == .lengthExceedsInput)
        // A byte string one longer than what is left.
        #expect(error("450102030405")?.reason == nil)
        #expect(error("4501020304")?.reason == .lengthExceedsInput)
    }

    @Test("nesting deeper than the limit is refused, at the limit accepted")
    func depth() {
        #expect(error(String(repeating: "81", count: 31) + "00") == nil)
        #expect(error(String(repeating: "81", count: 32) + "00")?.reason == .nestingTooDeep)
        #expect(error(String(repeating: "c1", count: 40) + "00")?.reason == .nestingTooDeep)
        #expect(error(String(repeating: "a1" + "00", count: 4) + "00", maximumDepth: 4)?.reason == .nestingTooDeep)
        // 100 000 nested arrays: refused without blowing the stack.
        #expect(error(String(repeating: "81", count: 100_000) + "00")?.reason == .nestingTooDeep)
    }

    @Test("non-preferred but well-formed integer arguments are accepted")
    func nonPreferredAccepted() throws {
        #expect(try CBORDecoder().decode(bytes(hex: "1800")) == 0)
        #expect(try CBORDecoder().decode(bytes(hex: "5900020102")) == .bytes([1, 2]))
    }

    @Test("floats are written in the shortest width that keeps the value")
    func shortestFloats() {
        let cases: [(Double, String)] = [
            (0.5, "f93800"), (-2.0, "f9c000"), (65504, "f97bff"), (65505, "fa477fe100"),
            (0.1, "fb3fb999999999999a"), (Double(Float.leastNonzeroMagnitude), "fa00000001"),
            (0x1p-24, "f90001"), (0x1p-25, "fa33000000"), (1.0 / 3.0, "fb3fd5555555555555"),
            (131_072.0, "fa48000000"), (Double(Float.greatestFiniteMagnitude) * 2, "fb47ffffffe0000000"),
        ]
        for (value, expected) in cases {
            #expect(hex(CBORValue.float(value).encoded()) == expected, "\(value)")
        }
    }

    @Test("map keys are ordered by their encoded bytes (RFC 8949 §4.2.1)")
    func mapOrder() {
        let value: CBORValue = .map([
            "aa": 1, "b": 2, 10: 3, -1: 4, 100: 5, .bytes([0]): 6, false: 7, [1]: 8,
        ])
        // 0a, 1864, 20, 4100, 6162, 626161, 8101, f4
        #expect(hex(value.encoded()) == "a80a031864052004410006616202626161018101 08f407".replacingOccurrences(of: " ", with: ""))
    }

    @Test("full 64-bit integer range in both signs")
    func integerRange() throws {
        #expect(CBORValue.int(.min) == .negative(UInt64(Int64.max)))
        #expect(CBORValue.int(.min).int64 == .min)
        #expect(CBORValue.negative(.max).int64 == nil)
        #expect(CBORValue.unsigned(.max).int64 == nil)
        #expect(try CBORDecoder().decode(bytes(hex: "3b7fffffffffffffff")).int64 == .min)
        #expect(CBORValue.negative(.max).number == -18_446_744_073_709_551_616.0)
    }

    @Test("reserved simple values cannot be made")
    func simpleValues() {
        for n in UInt8(20)...31 { #expect(CBORSimpleValue(n) == nil) }
        #expect(CBORSimpleValue(19) != nil)
        #expect(CBORSimpleValue(32) != nil)
    }
}
