import Foundation
import TOML
import TestSupport
import Testing

@Suite("TOML parser")
struct TOMLParserTests {
    private func parse(_ text: String) throws -> TOMLTable { try TOML.parse(text) }

    private func refusal(_ text: String) -> TOMLError? {
        do {
            _ = try TOML.parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("a one-byte typo in a table header is an error with its line, never an abort (issue 11 #3)",
          arguments: ["[}]", "[=watchdog]", "[{a]", "[[}a]]"])
    func headerTypos(header: String) throws {
        let error = try #require(refusal("[board]\nkind = \"simulated\"\n\(header)\nx = 1\n"))
        #expect(error.position.line == 3)
    }

    @Test("values of every type, with their positions")
    func values() throws {
        let table = try parse("""
            title = "lamp"   # comment
            count = 0x1F
            ratio = -1_000.5e-1
            on = true
            when = 1979-05-27T07:32:00.25-08:00
            day = 1979-05-27
            at = 07:32:00
            mixed = [1, "two", [3.0], {four = 4}]

            [modbus.buses]
            name = 'meter-bus'
            """)
        #expect(table["title"]?.value.string == "lamp")
        #expect(table["title"]?.position == TOMLPosition(line: 1, column: 9, offset: 8))
        #expect(table["count"]?.value.integer == 31)
        #expect(table["ratio"]?.value.float == -100.05)
        #expect(table["on"]?.value.boolean == true)
        #expect(table["when"]?.value.dateTime?.offsetMinutes == -480)
        #expect(table["when"]?.value.dateTime?.time?.nanosecond == 250_000_000)
        #expect(table["day"]?.value.dateTime?.time == nil)
        #expect(table["at"]?.value.dateTime?.date == nil)
        #expect(table["mixed"]?.value.array?.count == 4)
        let buses = try #require(table["modbus"]?.value.table?["buses"])
        #expect(buses.position.line == 10)
        #expect(buses.value.table?["name"]?.value.string == "meter-bus")
        #expect(buses.value.table?["name"]?.position.line == 11)
        #expect(table.keys == ["title", "count", "ratio", "on", "when", "day", "at", "mixed", "modbus"])
    }

    @Test("strings: escapes, multi-line, line-ending backslash, literal")
    func strings() throws {
        let table = try parse(#"""
            a = "tab\t \"q\" \\ \u00e9 \U0001F600"
            b = """
            one\
                two
            three"""
            c = '''C:\raw'''
            d = """x""""
            e = 'single'
            """#)
        #expect(table["a"]?.value.string == "tab\t \"q\" \\ é 😀")
        #expect(table["b"]?.value.string == "onetwo\nthree")
        #expect(table["c"]?.value.string == "C:\\raw")
        #expect(table["d"]?.value.string == "x\"")
        #expect(table["e"]?.value.string == "single")
    }

    @Test("arrays of tables, dotted keys and inline tables build the same tree")
    func structure() throws {
        let table = try parse("""
            [[modbus.devices]]
            name = "a"
            registers = [{ channel = "x" }]
            [[modbus.devices]]
            name = "b"
            site.place.name = "north"
            [modbus.devices.extra]
            k = 1
            """)
        let devices = try #require(table["modbus"]?.value.table?["devices"]?.value.array)
        #expect(devices.count == 2)
        #expect(devices[1].position.line == 4)
        #expect(devices[1].value.table?["site"]?.value.table?["place"]?.value.table?["name"]?.value.string == "north")
        #expect(devices[1].value.table?["extra"]?.value.table?["k"]?.value.integer == 1)
        #expect(devices[0].value.table?["extra"] == nil)
    }

    @Test("redefinitions are refused", arguments: [
        "[a]\n[a]",                      // a table defined twice
        "a = 1\na = 2",                  // a key set twice
        "a = {b = 1}\na.c = 2",          // extending an inline table
        "a = {b = 1}\n[a.c]",            // extending an inline table with a header
        "a.b = 1\n[a.b]",                // a dotted-key value as a table
        "a.b.c = 1\n[a.b]",              // a table made by dotted keys, redefined
        "[a.b.c]\nz = 9\n[a]\nb.c.t = 1", // dotted keys into a header's table
        "a = [1]\n[[a]]",                // a static array extended
        "[[a]]\n[a]",                    // an array of tables as a table
        "[a]\n[[a]]",                    // a table as an array of tables
        "x = {a = 1, a = 2}",            // a key twice in an inline table
    ])
    func redefinitions(document: String) {
        #expect(refusal(document) != nil)
    }

    @Test("integers outside 64 bits are errors, at their place", arguments: [
        "n = 9223372036854775808", "n = -9223372036854775809", "n = 0x1_0000_0000_0000_0000", "n = 99999999999999999999999",
    ])
    func integerOverflow(document: String) throws {
        let error = try #require(refusal(document))
        #expect(error.message.contains("out of range"))
        #expect(error.position.column == 5)
    }

    @Test("a Latin-1 byte is reported as not UTF-8, with its line and column (issue 11 #17)")
    func notUTF8() throws {
        var bytes = Array("[site]\ntimezone = \"Europe/Z".utf8)
        bytes += [0xFC] + Array("rich\"\n".utf8)
        do {
            _ = try TOML.parse(bytes)
            Issue.record("a Latin-1 byte was accepted")
        } catch {
            #expect(error.position.line == 2)
            #expect(error.position.column == 21)
            #expect(error.message.contains("not UTF-8"))
        }
    }

    @Test("deep nesting is an error, not a stack overflow")
    func depth() throws {
        for text in [
            "a = " + String(repeating: "[", count: 100_000),
            "a = " + String(repeating: "{b = ", count: 100_000),
            "[" + Array(repeating: "a", count: 100_000).joined(separator: ".") + "]",
            Array(repeating: "a", count: 100_000).joined(separator: ".") + " = 1",
        ] {
            let error = try #require(refusal(text))
            #expect(error.message.contains("\(TOML.maximumDepth)"))
        }
        #expect(throws: Never.self) { try parse("a = " + String(repeating: "[", count: 60) + String(repeating: "]", count: 60)) }
    }

    @Test("random bytes never trap, and every refusal has a place inside the document")
    func randomBytes() {
        var random = SeededRandom(seed: 11)
        let tokens = ["[", "]", "{", "}", "=", "\"", "'", ".", ",", "#", "\n", "\\", "a", "1", " ", "\"\"\"", "'''", "[["]
            .map { Array($0.utf8) }
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...40, using: &random)
            let bytes = random.pick([true, false])
                ? random.bytes(length)
                : (0..<length).flatMap { _ in random.pick(tokens) }
            do {
                _ = try TOML.parse(bytes)
            } catch {
                #expect(error.position.offset >= 0 && error.position.offset <= bytes.count)
                #expect(error.position.line >= 1 && error.position.column >= 1)
            }
        }
    }
}
