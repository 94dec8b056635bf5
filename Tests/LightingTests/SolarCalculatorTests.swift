import Foundation
import Testing
import TestSupport
@testable import Lighting
import CivilTime

private let utc = try! systemZone("UTC")

private func parseUTC(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)!
}

@Suite("SolarCalculator")
struct SolarCalculatorTests {
    /// The worked example of the Almanac for Computers (1990, Nautical Almanac Office, USNO),
    /// the algorithm behind many "sunrise equation" implementations: Wayne, NJ (40.9° N,
    /// 74.3° W), 1990-06-25, zenith 90°50' → sunrise 9.441 h UT (05:26 EDT), published to
    /// the minute. This is the only published value checked here (no network to fetch
    /// NOAA's tables); the ephem fixture below is the thorough check.
    @Test("matches the published Almanac for Computers example")
    func publishedExample() throws {
        let calculator = SolarCalculator(location: try #require(GeoLocation(latitudeDegrees: 40.9, longitudeDegrees: -74.3)))
        let newYork = try systemZone("America/New_York")
        let sunrise = try #require(calculator.time(of: .sunrise, on: LocalDate(year: 1990, month: 6, day: 25)!, timeZone: newYork).date)
        #expect(abs(sunrise.timeIntervalSince(parseUTC("1990-06-25T09:26:28.000Z"))) <= 60)
    }

    struct ReferenceFile: Decodable {
        struct Case: Decodable {
            let site: String
            let latitude: Double
            let longitude: Double
            let timeZone: String
            let date: String
            let events: [String: Event]
        }
        struct Event: Decodable {
            let utc: String?
            let state: String?
        }
        let cases: [Case]
    }

    @Test("agrees with the ephem ephemeris (committed fixture)")
    func ephemReference() throws {
        let file = try JSONDecoder().decode(ReferenceFile.self, from: Fixture.data("solar_reference.json"))
        #expect(file.cases.count > 500)
        var maxErrorUpTo65 = 0.0
        var maxErrorAll = 0.0
        var maxErrorRiseSetUpTo65 = 0.0
        var sumErrorUpTo65 = 0.0
        var countUpTo65 = 0
        var worst = ""
        var mismatches: [String] = []
        var compared = 0
        for reference in file.cases {
            let location = try #require(GeoLocation(latitudeDegrees: reference.latitude, longitudeDegrees: reference.longitude))
            let zone = try systemZone(reference.timeZone)
            let date = try #require(LocalDate(iso: reference.date))
            let calculator = SolarCalculator(location: location)
            for (name, expected) in reference.events {
                let event = try #require(SolarEvent(rawValue: name))
                let actual = calculator.time(of: event, on: date, timeZone: zone)
                let label = "\(reference.site) \(reference.date) \(name)"
                if let utc = expected.utc {
                    guard let instant = actual.date else {
                        mismatches.append("\(label): ephem \(utc), lampd \(actual)")
                        continue
                    }
                    let error = abs(instant.timeIntervalSince(parseUTC(utc)))
                    compared += 1
                    if abs(reference.latitude) <= 65 {
                        if error > maxErrorUpTo65 { maxErrorUpTo65 = error; worst = label }
                        if event == .sunrise || event == .sunset { maxErrorRiseSetUpTo65 = max(maxErrorRiseSetUpTo65, error) }
                        sumErrorUpTo65 += error
                        countUpTo65 += 1
                    }
                    maxErrorAll = max(maxErrorAll, error)
                } else {
                    let state: SolarEventTime? = switch expected.state {
                    case "polarNight": .polarNight
                    case "midnightSun": .midnightSun
                    default: .notOnThisDate
                    }
                    if actual != state { mismatches.append("\(label): ephem \(expected.state ?? "?"), lampd \(actual)") }
                }
            }
        }
        print("solar reference: \(compared) events compared; max error |lat| ≤ 65°: \(String(format: "%.1f", maxErrorUpTo65)) s (\(worst)); sunrise/sunset only: \(String(format: "%.1f", maxErrorRiseSetUpTo65)) s; mean: \(String(format: "%.1f", sumErrorUpTo65 / Double(max(countUpTo65, 1)))) s; all latitudes: \(String(format: "%.1f", maxErrorAll)) s; mismatches: \(mismatches.count)")
        for line in mismatches { print("  mismatch: \(line)") }
        #expect(maxErrorUpTo65 <= 30)
        #expect(mismatches.isEmpty)
    }

    @Test("polar night and midnight sun are explicit, never NaN")
    func polarCases() throws {
        let tromso = SolarCalculator(location: GeoLocation(latitudeDegrees: 69.6492, longitudeDegrees: 18.9553)!)
        let oslo = try! systemZone("Europe/Oslo")
        #expect(tromso.time(of: .sunrise, on: LocalDate(year: 2025, month: 12, day: 21)!, timeZone: oslo) == .polarNight)
        #expect(tromso.time(of: .sunset, on: LocalDate(year: 2025, month: 12, day: 21)!, timeZone: oslo) == .polarNight)
        // Civil twilight still happens around noon in Tromsø's polar night.
        #expect(tromso.time(of: .civilDawn, on: LocalDate(year: 2025, month: 12, day: 21)!, timeZone: oslo).date != nil)
        #expect(tromso.time(of: .sunset, on: LocalDate(year: 2025, month: 6, day: 21)!, timeZone: oslo) == .midnightSun)
        let pole = SolarCalculator(location: GeoLocation(latitudeDegrees: 90, longitudeDegrees: 0)!)
        for month in 1...12 {
            let result = pole.time(of: .sunrise, on: LocalDate(year: 2025, month: month, day: 10)!, timeZone: utc)
            if let date = result.date { #expect(date.timeIntervalSince1970.isFinite) }
        }
    }

    @Test("events at the date line fall within the requested local date")
    func dateLine() throws {
        let fiji = try! systemZone("Pacific/Fiji")
        let calculator = SolarCalculator(location: GeoLocation(latitudeDegrees: -17, longitudeDegrees: 180)!)
        let date = LocalDate(year: 2025, month: 1, day: 5)!
        let start = LocalTimeConversion.startOfDay(date, in: fiji)
        let end = LocalTimeConversion.startOfDay(date.adding(days: 1), in: fiji)
        for event in SolarEvent.allCases {
            let instant = try #require(calculator.time(of: event, on: date, timeZone: fiji).date)
            #expect(instant >= start && instant < end)
        }
    }

    @Test("sun elevation is near −0.833° at sunset")
    func elevationAtSunset() throws {
        let calculator = SolarCalculator(location: GeoLocation(latitudeDegrees: 52.52, longitudeDegrees: 13.405)!)
        let sunset = try #require(calculator.time(of: .sunset, on: LocalDate(year: 2025, month: 9, day: 1)!, timeZone: utc).date)
        #expect(abs(calculator.elevationDegrees(at: sunset) + 0.833) < 0.01)
    }
}
