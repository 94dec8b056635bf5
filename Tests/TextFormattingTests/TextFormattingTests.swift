import Foundation
import Testing

@testable import TextFormatting

/// `String(printf:)` and the layout helpers replace full Foundation's string APIs in the board
/// binaries; full Foundation (linked into the tests only) is the oracle.
@Suite("Text formatting without Foundation")
struct TextFormattingTests {
    @Test("numbers format exactly as Foundation's String(format:) does", arguments: [
        "%.0f %%", "%.1f", "%.2f kWh", "%.3f", "%3.0f %%", "%.4g", "%g s", "%8.2f|", "%-8.1f|", "%+.1f", "%e",
    ])
    func reals(format: String) {
        for value in [0.0, -0.0, 0.5, 1.5, 2.5, -1.25, 99.95, 100, 1234.5678, 1e-7, 6.02e23, -273.15] {
            #expect(String(printf: format, value) == String(format: format, value), "format \(format) value \(value)")
        }
    }

    @Test("integers format exactly as Foundation's String(format:) does", arguments: [
        "%d", "%02d", "%04d-%02d", "%3d|", "%-4d|", "%x", "%X", "%ld", "%lld", "%+d",
    ])
    func integers(format: String) {
        for value in [0, 7, -7, 42, 2026, -2026, 65535, Int(Int32.max), Int(Int32.min)] {
            // Foundation prints a negative %x as 32 bits, printf(3) with "ll" as 64: no message of ours uses it.
            if value < 0, format.contains("x") || format.contains("X") { continue }
            #expect(String(printf: format, value, value) == String(format: format, value, value), "format \(format) value \(value)")
        }
    }

    @Test("text and mixed conversions")
    func textAndMixed() {
        #expect(String(printf: "Lamp      %.0f %%, decided by %@", 75.0, "schedule") == "Lamp      75 %, decided by schedule")
        #expect(String(printf: "UTC%@%02d:%02d", "+", 5, 30) == "UTC+05:30")
        #expect(String(printf: "%@%@%02d:%02d", "sunset", "-", 0, 15) == "sunset-00:15")
        #expect(String(printf: "[%6@]", "ab") == "[    ab]")
        #expect(String(printf: "[%-6s]", "ab") == "[ab    ]")
        #expect(String(printf: "[%.2s]", "abcdef") == "[ab]")
        #expect(String(printf: "%.1f° %@", 52.52, "N") == "52.5° N")
    }

    @Test("a missing or mismatched argument never traps")
    func mismatches() {
        #expect(String(printf: "a %d b %d", 1) == "a 1 b ")
        #expect(String(printf: "%d", 2.9) == "2")
        #expect(String(printf: "%.1f", 3) == "3.0")
        #expect(String(printf: "100 %") == "100 %")
        #expect(String(printf: "%@", 12) == "12")
    }

    @Test("a very long result is not cut")
    func long() {
        let text = String(printf: "%600.1f", 1.0)
        #expect(text.count == 600)
        #expect(text.hasSuffix(" 1.0"))
    }

    @Test("trimming and fitting match Foundation's trimmingCharacters and padding")
    func layout() {
        for text in ["", " ", "  a b  ", "\tx\n", "abc", " \n\t ", "é "] {
            #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespacesAndNewlines))
            for width in [0, 2, 5] {
                #expect(text.fitted(toWidth: width) == text.padding(toLength: width, withPad: " ", startingAt: 0))
            }
        }
    }
}
