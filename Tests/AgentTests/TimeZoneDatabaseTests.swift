import Agent
import LampdConfig
import Foundation
import Lighting
import Testing
import CivilTime

/// lampd reads the pole's zone from tzdata itself (FoundationEssentials has no named zones).
@Suite("Time zone database")
struct TimeZoneDatabaseTests {
    @Test("named zones load from /usr/share/zoneinfo and agree with ICU")
    func named() throws {
        let berlin = try TimeZoneDatabase.zone(named: "Europe/Berlin")
        #expect(berlin.identifier == "Europe/Berlin")
        let icu = try #require(TimeZone(identifier: "Europe/Berlin"))
        for instant in stride(from: 1_700_000_000.0, to: 1_800_000_000, by: 86_400 * 7 + 3_601) {
            let date = Date(timeIntervalSince1970: instant)
            #expect(berlin.secondsFromGMT(for: date) == icu.secondsFromGMT(for: date))
        }
        #expect(try TimeZoneDatabase.zone(named: "UTC") == .utc)
        #expect(try TimeZoneDatabase.zone(named: "Etc/UTC").secondsFromGMT(for: Date()) == 0)
        #expect(try TimeZoneDatabase.zone(named: "Etc/GMT+5").secondsFromGMT(for: Date()) == -5 * 3600)
        #expect(try TimeZoneDatabase.zone(named: "America/Port-au-Prince").identifier == "America/Port-au-Prince")
    }

    @Test("bad names get a clear error and never reach outside the zone directory", arguments: [
        ("Europe/Berln", "is not installed"), ("Mars/Olympus", "is not installed"),
        ("../../etc/passwd", "is not an IANA time zone name"), ("/etc/passwd", "is not an IANA time zone name"),
        ("Europe//Berlin", "is not an IANA time zone name"), ("", "is not an IANA time zone name"),
        ("Europe/Berlin ", "is not an IANA time zone name"), ("Europe", "is not installed"),
    ])
    func badNames(name: String, words: String) {
        #expect {
            _ = try TimeZoneDatabase.zone(named: name)
        } throws: { error in
            "\(error)".contains(words) && "\(error)".contains("\"\(name)\"")
        }
    }

    @Test("a file that is not a zone file is refused with its name")
    func notAZoneFile() throws {
        // /usr/share/zoneinfo holds text files too (zone1970.tab, tzdata.zi).
        #expect {
            _ = try TimeZoneDatabase.zone(named: "zone1970")
        } throws: { error in
            "\(error)".contains("zone1970")
        }
    }
}
