import Foundation
import Testing
import TestSupport

@testable import CivilTime

private func offset(_ zone: ZoneInfo, _ isoInstant: String) -> Int {
    zone.secondsFromGMT(for: iso(isoInstant))
}

/// The offset is `from` one second before `isoInstant` and `to` at it.
private func expectChange(_ zone: ZoneInfo, at isoInstant: String, from: Int, to: Int,
                          sourceLocation: SourceLocation = #_sourceLocation) {
    let instant = iso(isoInstant)
    #expect(zone.secondsFromGMT(for: instant - 1) == from, "\(zone.identifier) before \(isoInstant)",
            sourceLocation: sourceLocation)
    #expect(zone.secondsFromGMT(for: instant) == to, "\(zone.identifier) at \(isoInstant)",
            sourceLocation: sourceLocation)
}

private func at(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }

@Suite("ZoneInfo against ICU (Foundation's TimeZone)")
struct ZoneInfoOracleTests {
    static let zones = [
        "Europe/Berlin", "Europe/London", "Europe/Dublin", "America/New_York", "America/Los_Angeles",
        "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham", "Asia/Tokyo",
        "America/Sao_Paulo", "UTC",
    ]

    /// 1971-01-01 to 2101-01-01. ICU's bundled tz data and the system's tzdata (2025b here)
    /// agree on all of these zones over the whole range, so no zone needs a narrower one.
    static let range: Range<Int64> = 31_536_000..<4_133_980_800

    @Test("same offset as ICU every 7 h 13 s, and one second around each transition", arguments: zones)
    func matchesICU(identifier: String) throws {
        let zone = try systemZone(identifier)
        let oracle = try #require(TimeZone(identifier: identifier))
        func check(_ seconds: Int64) {
            let date = at(seconds)
            #expect(zone.secondsFromGMT(for: date) == oracle.secondsFromGMT(for: date),
                    "\(identifier) at \(date) (\(seconds))")
        }
        var previous = Self.range.lowerBound
        check(previous)
        for seconds in stride(from: previous + 25_213, to: Self.range.upperBound, by: 25_213) {
            check(seconds)
            // A change of offset since the last sample: find its exact second (listed or from
            // the footer rule) by bisection, and check both sides of it.
            if zone.secondsFromGMT(for: at(seconds)) != zone.secondsFromGMT(for: at(previous)) {
                var low = previous
                var high = seconds
                let before = zone.secondsFromGMT(for: at(low))
                while high - low > 1 {
                    let middle = (low + high) / 2
                    if zone.secondsFromGMT(for: at(middle)) == before { low = middle } else { high = middle }
                }
                for around in [high - 2, high - 1, high, high + 1] { check(around) }
            }
            previous = seconds
        }
        // And every listed transition in range, even those that keep the offset.
        for transition in zone.transitionTimes where Self.range.contains(transition) {
            for around in [transition - 1, transition, transition + 1] { check(around) }
        }
    }
}

@Suite("ZoneInfo from the system's zone files")
struct ZoneInfoSystemFileTests {
    @Test("Berlin 2026: spring forward and fall back to the second")
    func berlin2026() throws {
        let berlin = try systemZone("Europe/Berlin")
        #expect(berlin.identifier == "Europe/Berlin")
        expectChange(berlin, at: "2026-03-29T01:00:00Z", from: 3600, to: 7200)
        expectChange(berlin, at: "2026-10-25T01:00:00Z", from: 7200, to: 3600)
        #expect(berlin.abbreviation(for: iso("2026-03-29T00:59:59Z")) == "CET")
        #expect(berlin.abbreviation(for: iso("2026-03-29T01:00:00Z")) == "CEST")
        #expect(!berlin.isDaylightSavingTime(for: iso("2026-01-15T12:00:00Z")))
        #expect(berlin.isDaylightSavingTime(for: iso("2026-07-15T12:00:00Z")))
        // Sub-second parts count as the second they are in.
        #expect(berlin.secondsFromGMT(for: iso("2026-03-29T01:00:00Z") - 0.25) == 3600)
    }

    @Test("after 2037 and around 2100 the footer rule applies (values from zdump)")
    func footerYears() throws {
        let berlin = try systemZone("Europe/Berlin")
        #expect(try #require(berlin.transitionTimes.last) < 2_200_000_000, "fat file ends in 2037")
        expectChange(berlin, at: "2038-03-28T01:00:00Z", from: 3600, to: 7200)
        expectChange(berlin, at: "2100-03-28T01:00:00Z", from: 3600, to: 7200)
        expectChange(berlin, at: "2100-10-31T01:00:00Z", from: 7200, to: 3600)
        #expect(berlin.abbreviation(for: iso("2100-07-01T00:00:00Z")) == "CEST")

        let newYork = try systemZone("America/New_York")
        expectChange(newYork, at: "2100-03-14T07:00:00Z", from: -18000, to: -14400)
        expectChange(newYork, at: "2100-11-07T06:00:00Z", from: -14400, to: -18000)

        let sydney = try systemZone("Australia/Sydney")
        expectChange(sydney, at: "2100-04-03T16:00:00Z", from: 39600, to: 36000)
        expectChange(sydney, at: "2100-10-02T16:00:00Z", from: 36000, to: 39600)

        // Negative DST in tzdata's main format: winter GMT is the "daylight" time.
        let dublin = try systemZone("Europe/Dublin")
        expectChange(dublin, at: "2100-03-28T01:00:00Z", from: 0, to: 3600)
        expectChange(dublin, at: "2100-10-31T01:00:00Z", from: 3600, to: 0)
        #expect(dublin.isDaylightSavingTime(for: iso("2100-01-01T00:00:00Z")))
        #expect(dublin.abbreviation(for: iso("2100-07-01T00:00:00Z")) == "IST")

        let lordHowe = try systemZone("Australia/Lord_Howe")  // DST saves 30 minutes.
        expectChange(lordHowe, at: "2100-04-03T15:00:00Z", from: 39600, to: 37800)
        expectChange(lordHowe, at: "2100-10-02T15:30:00Z", from: 37800, to: 39600)

        let chatham = try systemZone("Pacific/Chatham")  // +12:45 / +13:45.
        expectChange(chatham, at: "2100-04-03T14:00:00Z", from: 49500, to: 45900)
        expectChange(chatham, at: "2100-09-25T14:00:00Z", from: 45900, to: 49500)
    }

    @Test("before the first transition: the first local time type (Berlin's local mean time)")
    func beforeFirstTransition() throws {
        let berlin = try systemZone("Europe/Berlin")
        #expect(berlin.secondsFromGMT(for: iso("1800-01-01T00:00:00Z")) == 3208)  // +0:53:28
        #expect(berlin.abbreviation(for: iso("1800-01-01T00:00:00Z")) == "LMT")
    }

    @Test("UTC: the file has no transitions; ZoneInfo.utc needs no file")
    func utc() throws {
        let file = try systemZone("UTC")
        #expect(file.transitionTimes.isEmpty)
        for date in [iso("1900-01-01T00:00:00Z"), iso("2026-06-01T12:00:00Z"), iso("2400-01-01T00:00:00Z")] {
            #expect(file.secondsFromGMT(for: date) == 0)
            #expect(ZoneInfo.utc.secondsFromGMT(for: date) == 0)
            #expect(ZoneInfo.utc.abbreviation(for: date) == "UTC")
            #expect(!ZoneInfo.utc.isDaylightSavingTime(for: date))
        }
        #expect(ZoneInfo.utc.identifier == "UTC")
    }

    @Test("extreme dates neither trap nor give nonsense")
    func extremeDates() throws {
        let berlin = try systemZone("Europe/Berlin")
        #expect(berlin.secondsFromGMT(for: .distantPast) == 3208)
        #expect([3600, 7200].contains(berlin.secondsFromGMT(for: .distantFuture)))
        for seconds in [Double.infinity, -.infinity, .nan, 1e300, -1e300] {
            _ = berlin.secondsFromGMT(for: Date(timeIntervalSince1970: seconds))
        }
    }

    @Test("TZif versions 3 and 4 read like version 2")
    func laterVersions() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "/usr/share/zoneinfo/America/Sao_Paulo")))
        let version2 = try ZoneInfo(identifier: "America/Sao_Paulo", tzif: bytes)
        let secondHeader = try #require(secondHeaderOffset(bytes))
        for version in ["3", "4"] {
            var patched = bytes
            patched[4] = UInt8(ascii: Unicode.Scalar(version)!)
            patched[secondHeader + 4] = patched[4]
            #expect(try ZoneInfo(identifier: "America/Sao_Paulo", tzif: patched) == version2)
        }
    }

    @Test("a right/ zone (leap seconds in its times) gives the plain zone's offsets")
    func leapSeconds() throws {
        let plain = try systemZone("Europe/Berlin")
        let right = try systemZone("right/Europe/Berlin")
        // right/ files carry an empty footer and end with a transition at the leap-second
        // table's expiry (2026-06-28 for tzdata 2025b): compare up to there. Every transition
        // since the first leap second (1972) must land on the same POSIX second as in the
        // plain zone, not up to 27 s late.
        let last = try #require(right.transitionTimes.last)
        let sinceLeapSeconds = plain.transitionTimes.filter { (78_796_800...last).contains($0) }
        #expect(sinceLeapSeconds.count > 90)  // Twice a year since 1980.
        #expect(sinceLeapSeconds.allSatisfy(right.transitionTimes.contains))
        for seconds in stride(from: Int64(0), through: last + 3600, by: 25_213) {
            #expect(right.secondsFromGMT(for: at(seconds)) == plain.secondsFromGMT(for: at(seconds)))
        }
    }
}

/// Offset of the second (64-bit) header in a version 2+ file.
private func secondHeaderOffset(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 44 else { return nil }
    func count(_ index: Int) -> Int {
        Int(bytes[20 + 4 * index..<24 + 4 * index].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }
    let (isUT, isStandard, leap, transitions, types, chars) = (count(0), count(1), count(2), count(3), count(4), count(5))
    return 44 + transitions * 5 + types * 6 + chars + leap * 8 + isStandard + isUT
}

/// Builds a TZif file by hand: `version` 0 writes only the 32-bit block; 2+ writes the same
/// data in both blocks and `footer`.
private func tzif(version: UInt8, transitions: [Int64] = [], typeIndices: [UInt8] = [],
                  types: [(utOffset: Int32, isDaylight: Bool, abbreviationIndex: UInt8)],
                  abbreviations: String, leapSeconds: [(occurrence: Int64, correction: Int32)] = [],
                  footer: String = "") -> [UInt8] {
    func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
    func block(timeSize: Int) -> [UInt8] {
        let time: (Int64) -> [UInt8] = { timeSize == 8 ? bigEndian($0) : bigEndian(Int32($0)) }
        let chars = Array(abbreviations.utf8)
        var out = Array("TZif".utf8) + [version] + [UInt8](repeating: 0, count: 15)
        for count in [0, 0, leapSeconds.count, transitions.count, types.count, chars.count] {
            out += bigEndian(UInt32(count))
        }
        for transition in transitions { out += time(transition) }
        out += typeIndices
        for type in types { out += bigEndian(type.utOffset) + [type.isDaylight ? 1 : 0, type.abbreviationIndex] }
        out += chars
        for leap in leapSeconds { out += time(leap.occurrence) + bigEndian(leap.correction) }
        return out
    }
    if version == 0 { return block(timeSize: 4) }
    return block(timeSize: 4) + block(timeSize: 8) + Array("\n\(footer)\n".utf8)
}

@Suite("ZoneInfo from hand-built TZif files")
struct ZoneInfoHandBuiltTests {
    /// Berlin-like: CET, then CEST from 2026-03-29 01:00Z, then CET from 2026-10-25 01:00Z.
    static let transitions: [Int64] = [1_774_746_000, 1_792_890_000]
    static let types: [(utOffset: Int32, isDaylight: Bool, abbreviationIndex: UInt8)] = [
        (3600, false, 0), (7200, true, 4),
    ]

    @Test("version 1 file: 32-bit data, no footer; the last type stays after the last transition")
    func version1() throws {
        let bytes = tzif(version: 0, transitions: Self.transitions, typeIndices: [1, 0], types: Self.types,
                         abbreviations: "CET\0CEST\0")
        let zone = try ZoneInfo(identifier: "Test/V1", tzif: bytes)
        #expect(zone.identifier == "Test/V1")
        #expect(zone.secondsFromGMT(for: at(0)) == 3600)  // Before the first transition: type 0.
        #expect(zone.secondsFromGMT(for: at(1_774_745_999)) == 3600)
        #expect(zone.secondsFromGMT(for: at(1_774_746_000)) == 7200)
        #expect(zone.abbreviation(for: at(1_774_746_000)) == "CEST")
        #expect(zone.isDaylightSavingTime(for: at(1_774_746_000)))
        #expect(zone.secondsFromGMT(for: at(1_792_889_999)) == 7200)
        #expect(zone.secondsFromGMT(for: at(1_792_890_000)) == 3600)
        #expect(zone.secondsFromGMT(for: at(4_000_000_000)) == 3600)  // No footer: CET stays.
    }

    @Test("version 2 file: the footer rule takes over after the last transition")
    func version2Footer() throws {
        let bytes = tzif(version: UInt8(ascii: "2"), transitions: Self.transitions, typeIndices: [1, 0],
                         types: Self.types, abbreviations: "CET\0CEST\0", footer: "CET-1CEST,M3.5.0,M10.5.0/3")
        let zone = try ZoneInfo(identifier: "Test/V2", tzif: bytes)
        expectChange(zone, at: "2027-03-28T01:00:00Z", from: 3600, to: 7200)
        #expect(zone.abbreviation(for: iso("2027-07-01T00:00:00Z")) == "CEST")
    }

    @Test("no transitions: the footer applies to every instant, or type 0 without one")
    func noTransitions() throws {
        let withFooter = try ZoneInfo(identifier: "Test/Rule", tzif: tzif(
            version: UInt8(ascii: "2"), types: [(3600, false, 0)], abbreviations: "CET\0",
            footer: "CET-1CEST,M3.5.0,M10.5.0/3"))
        #expect(offset(withFooter, "1980-07-01T00:00:00Z") == 7200)
        #expect(offset(withFooter, "1980-01-01T00:00:00Z") == 3600)
        let bare = try ZoneInfo(identifier: "Test/Fixed", tzif: tzif(
            version: UInt8(ascii: "2"), types: [(-12600, false, 0)], abbreviations: "-0330\0"))
        #expect(offset(bare, "2026-07-01T00:00:00Z") == -12600)
        #expect(bare.abbreviation(for: iso("2026-07-01T00:00:00Z")) == "-0330")
    }

    @Test("leap second records: transition times are turned into POSIX seconds")
    func leapSecondRecords() throws {
        // Two leap seconds before the transitions: the file's times are 2 s later than POSIX.
        let bytes = tzif(version: UInt8(ascii: "2"), transitions: Self.transitions.map { $0 + 2 }, typeIndices: [1, 0],
                         types: Self.types, abbreviations: "CET\0CEST\0",
                         leapSeconds: [(78_796_800, 1), (94_694_401, 2)])
        let zone = try ZoneInfo(identifier: "Test/Leap", tzif: bytes)
        #expect(zone.transitionTimes == Self.transitions)
        #expect(zone.secondsFromGMT(for: at(1_774_745_999)) == 3600)
        #expect(zone.secondsFromGMT(for: at(1_774_746_000)) == 7200)
    }
}

@Suite("POSIX TZ strings (TZif footers)")
struct ZoneInfoPOSIXRuleTests {
    private func zone(_ text: String) throws -> ZoneInfo {
        try ZoneInfo(identifier: "Test/Rule", posixTZ: text)
    }

    @Test("CET-1CEST,M3.5.0,M10.5.0/3: last Sundays, 02:00 standard and 03:00 daylight time")
    func centralEurope() throws {
        let cet = try zone("CET-1CEST,M3.5.0,M10.5.0/3")
        expectChange(cet, at: "2026-03-29T01:00:00Z", from: 3600, to: 7200)
        expectChange(cet, at: "2026-10-25T01:00:00Z", from: 7200, to: 3600)
        #expect(cet.abbreviation(for: iso("2026-07-01T00:00:00Z")) == "CEST")
        #expect(cet.isDaylightSavingTime(for: iso("2026-07-01T00:00:00Z")))
        #expect(cet.abbreviation(for: iso("2026-01-01T00:00:00Z")) == "CET")
    }

    @Test("<+0330>-3:30: quoted name, minutes, no DST")
    func quotedFixed() throws {
        let tehran = try zone("<+0330>-3:30")
        #expect(offset(tehran, "2026-07-01T00:00:00Z") == 12600)
        #expect(tehran.abbreviation(for: iso("2026-07-01T00:00:00Z")) == "+0330")
        #expect(!tehran.isDaylightSavingTime(for: iso("2026-07-01T00:00:00Z")))
        #expect(offset(try zone("<-03>3"), "2026-07-01T00:00:00Z") == -10800)
        #expect(offset(try zone("LMT-0:53:28"), "2026-07-01T00:00:00Z") == 3208)
        #expect(offset(try zone("EST+5"), "2026-07-01T00:00:00Z") == -18000)
    }

    @Test("AEST-10AEDT,M10.1.0,M4.1.0/3: southern hemisphere, DST across the new year")
    func southern() throws {
        let sydney = try zone("AEST-10AEDT,M10.1.0,M4.1.0/3")
        #expect(offset(sydney, "2026-01-01T00:00:00Z") == 39600)
        expectChange(sydney, at: "2026-04-04T16:00:00Z", from: 39600, to: 36000)  // Sun 5 Apr 03:00 AEDT.
        expectChange(sydney, at: "2026-10-03T16:00:00Z", from: 36000, to: 39600)  // Sun 4 Oct 02:00 AEST.
        #expect(offset(sydney, "2026-12-31T23:59:59Z") == 39600)
    }

    @Test("IST-1GMT0,M10.5.0,M3.5.0/1: negative DST (Europe/Dublin)")
    func negativeDST() throws {
        let dublin = try zone("IST-1GMT0,M10.5.0,M3.5.0/1")
        expectChange(dublin, at: "2026-03-29T01:00:00Z", from: 0, to: 3600)
        expectChange(dublin, at: "2026-10-25T01:00:00Z", from: 3600, to: 0)
        #expect(dublin.isDaylightSavingTime(for: iso("2026-01-01T00:00:00Z")))
        #expect(dublin.abbreviation(for: iso("2026-01-01T00:00:00Z")) == "GMT")
    }

    @Test("Jn never counts February 29; n does")
    func julianDays() throws {
        // J60 is 1 March in every year; 59 (zero-based) is 29 February in a leap year.
        let julian = try zone("XXX0YYY-1,J60/0,J300/0")
        expectChange(julian, at: "2024-03-01T00:00:00Z", from: 0, to: 3600)
        expectChange(julian, at: "2025-03-01T00:00:00Z", from: 0, to: 3600)
        // J300 = 27 October in every year, 00:00 daylight time = 26 October 23:00Z.
        expectChange(julian, at: "2024-10-26T23:00:00Z", from: 3600, to: 0)

        let zeroBased = try zone("XXX0YYY-1,59/0,299/0")
        expectChange(zeroBased, at: "2024-02-29T00:00:00Z", from: 0, to: 3600)
        expectChange(zeroBased, at: "2025-03-01T00:00:00Z", from: 0, to: 3600)
        // 299 = 26 October 2024 (leap year), 27 October 2025.
        expectChange(zeroBased, at: "2024-10-25T23:00:00Z", from: 3600, to: 0)
        expectChange(zeroBased, at: "2025-10-26T23:00:00Z", from: 3600, to: 0)
    }

    @Test("hours beyond 24 and negative hours (RFC 8536 §3.3.1)")
    func extendedHours() throws {
        // DST all year (tzdata's own example): the end, J365/25, is the next year's start.
        let allYear = try zone("EST5EDT4,0/0,J365/25")
        for instant in ["2026-01-01T00:00:00Z", "2026-01-01T05:00:00Z", "2026-07-01T00:00:00Z", "2026-12-31T23:59:59Z", "2027-01-01T05:00:00Z"] {
            #expect(offset(allYear, instant) == -14400, "\(instant)")
            #expect(allYear.isDaylightSavingTime(for: iso(instant)))
        }
        // Negative hours: old America/Godthab, last Saturday of March 23:00 (Sunday −1 h).
        let godthab = try zone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0")
        expectChange(godthab, at: "2024-03-31T01:00:00Z", from: -7200, to: -3600)
        expectChange(godthab, at: "2024-10-27T01:00:00Z", from: -3600, to: -7200)
        // 167 hours after the start of the second Sunday of March 2026 (8 March): 14 March 23:00.
        let late = try zone("XXX0YYY-1,M3.2.0/167,J365/0")
        expectChange(late, at: "2026-03-14T23:00:00Z", from: 0, to: 3600)
    }

    @Test("the footer rule matches ICU for Berlin, New York and Sydney up to 2100")
    func matchesICU() throws {
        let cases = [
            ("Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"),
            ("America/New_York", "EST5EDT,M3.2.0,M11.1.0"),
            ("Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3"),
            ("Pacific/Chatham", "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45"),
        ]
        for (identifier, text) in cases {
            let rule = try zone(text)
            let oracle = try #require(TimeZone(identifier: identifier))
            // From 2009: the current rules date from 2007 (New York) and 2008 (Sydney, Chatham).
            for seconds in stride(from: Int64(1_230_768_000), to: 4_102_444_800, by: 25_213) {
                #expect(rule.secondsFromGMT(for: at(seconds)) == oracle.secondsFromGMT(for: at(seconds)),
                        "\(identifier) at \(at(seconds))")
            }
        }
    }

    @Test("malformed TZ strings are refused with the reason", arguments: [
        "", "CE-1", "CET", "CET-1CEST", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0",
        "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,J0,J100", "CET-1CEST,366,100",
        "CET-1CEST,M3.5.0/168,M10.5.0", "CET-25", "CET-1:60", "<+03", "<+03>", "<+0 3>-3", "CET-1 ",
        "CET-1CEST;M3.5.0,M10.5.0", "CET-1CEST,M3.5.0,M10.5.0/3x",
    ])
    func malformed(text: String) {
        #expect {
            _ = try ZoneInfo(identifier: "Test/Bad", posixTZ: text)
        } throws: { error in
            let error = error as? ZoneInfoError
            return error?.code == "invalid-tz-string" && error?.description.contains("\"\(text)\"") == true
        }
    }
}

@Suite("ZoneInfo refuses damaged files without trapping")
struct ZoneInfoDamagedFileTests {
    static let berlin = (try? Data(contentsOf: URL(fileURLWithPath: "/usr/share/zoneinfo/Europe/Berlin")))
        .map { [UInt8]($0) } ?? []

    private func code(_ bytes: [UInt8]) -> String? {
        do {
            _ = try ZoneInfo(identifier: "Test/Damaged", tzif: bytes)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("not a zone file")
    func foreign() {
        #expect(code([]) == "not-tzif")
        #expect(code(Array("Europe/Berlin\n".utf8)) == "not-tzif")
        #expect(code(Array("<html>not found</html>".utf8)) == "not-tzif")
        var version9x = Self.berlin
        version9x[4] = 0x41
        #expect(code(version9x) == "unsupported-version")
        #expect(code([0x54, 0x5A]) == "truncated")  // "TZ": a cut-off zone file.
    }

    @Test("every cut-off prefix of a real file is refused as truncated")
    func prefixes() throws {
        try #require(Self.berlin.count > 1000)
        #expect(code(Self.berlin) == nil)
        for length in 1..<Self.berlin.count {
            let result = code(Array(Self.berlin.prefix(length)))
            #expect(result == "truncated", "prefix of \(length) bytes: \(result ?? "accepted")")
        }
        do {
            _ = try ZoneInfo(identifier: "Europe/Berlin", tzif: Array(Self.berlin.prefix(100)))
        } catch {
            #expect(error.description.contains("Europe/Berlin is truncated"))
            #expect(error.description.contains("reinstall the tzdata package"))
        }
    }

    @Test("inconsistent data is refused")
    func inconsistent() {
        let types: [(utOffset: Int32, isDaylight: Bool, abbreviationIndex: UInt8)] = [(3600, false, 0)]
        #expect(code(tzif(version: 0, transitions: [10], typeIndices: [1], types: types, abbreviations: "CET\0"))
            == "invalid-data")  // Type index out of range.
        #expect(code(tzif(version: 0, transitions: [20, 10], typeIndices: [0, 0], types: types, abbreviations: "CET\0"))
            == "invalid-data")  // Not ascending.
        #expect(code(tzif(version: 0, types: [(3600, false, 9)], abbreviations: "CET\0")) == "invalid-data")
        #expect(code(tzif(version: 0, types: [(Int32.min, false, 0)], abbreviations: "CET\0")) == "invalid-data")
        #expect(code(tzif(version: 0, types: [], abbreviations: "CET\0")) == "invalid-data")
        var noNewline = tzif(version: UInt8(ascii: "2"), types: types, abbreviations: "CET\0", footer: "CET-1")
        noNewline[noNewline.count - 7] = UInt8(ascii: "X")  // The footer's opening newline.
        #expect(code(noNewline) == "invalid-data")
    }

    @Test("a footer that cannot be read is refused and quoted")
    func badFooter() {
        let bytes = tzif(version: UInt8(ascii: "2"), types: [(3600, false, 0)], abbreviations: "CET\0",
                         footer: "CET-1CEST,M3.5.0")
        #expect(code(bytes) == "unsupported-footer")
        do {
            _ = try ZoneInfo(identifier: "Europe/Berlin", tzif: bytes)
        } catch {
            #expect(error.description.contains("\"CET-1CEST,M3.5.0\""))
        }
    }

    @Test("counts far beyond the file are refused as truncated")
    func hugeCounts() {
        var bytes = Self.berlin
        for index in 20..<44 { bytes[index] = 0xFF }
        #expect(code(bytes) == "truncated")
    }

    @Test("random damage to a real file never traps")
    func fuzz() {
        var generator = SplitMix64(seed: 0x5EED)
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = Self.berlin
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
            if let zone = try? ZoneInfo(identifier: "Test/Fuzz", tzif: bytes) {
                accepted += 1
                for seconds in stride(from: Int64(-3_000_000_000), to: 5_000_000_000, by: 500_000_007) {
                    _ = zone.secondsFromGMT(for: at(seconds))
                }
            }
        }
        #expect(accepted > 0)  // Damage to an abbreviation or an offset still parses.
    }
}

/// A small seeded generator, so that the fuzz test is repeatable.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
