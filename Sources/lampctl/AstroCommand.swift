import ArgumentParser
import LampdConfig
import FoundationEssentials
import Glibc
import Lighting
import CivilTime
import TextFormatting

/// `lampctl astro`: the day's sun times for a place, as the lamp's astro clock computes them.
struct AstroCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "astro",
        abstract: "Show dawn, sunrise, sunset and dusk for a place and date.",
        discussion: """
            Computes the times the astro clock uses (VSOP87 sun position; sunrise/sunset when the top \
            of the sun touches the horizon, civil twilight at 6° and nautical at 12° below). \
            "The day" is the local calendar date in --tz. Near the poles the sun may not rise \
            or set at all; that is said plainly.

            Example: lampctl astro --lat 52.52 --lon 13.405 --date 2025-06-21 --tz Europe/Berlin
            """
    )

    @Option(name: .long, parsing: .unconditional, help: "Latitude in decimal degrees, north positive (-90 to 90).")
    var lat: String

    @Option(name: .long, parsing: .unconditional, help: "Longitude in decimal degrees, east positive (-180 to 180).")
    var lon: String

    @Option(name: .long, help: "Local date YYYY-MM-DD (default: today in --tz).")
    var date: String?

    @Option(name: .long, help: "IANA time zone, e.g. Europe/Berlin (default: the system's time zone).")
    var tz: String?

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(output)
        guard let latitude = Double(lat), latitude.isFinite, (-90...90).contains(latitude) else {
            throw console.usage("--lat '\(lat)' is not a latitude: use decimal degrees from -90 to 90 (north positive)")
        }
        guard let longitude = Double(lon), longitude.isFinite, (-180...180).contains(longitude) else {
            throw console.usage("--lon '\(lon)' is not a longitude: use decimal degrees from -180 to 180 (east positive)")
        }
        let zone: ZoneInfo
        if let tz {
            do { zone = try TimeZoneDatabase.zone(named: tz) } catch {
                throw console.usage("--tz '\(tz)': \(error.description)")
            }
        } else {
            zone = TimeZoneDatabase.systemZone()
        }
        let day: LocalDate
        if let date {
            guard let parsed = LocalDate(iso: date) else {
                throw console.usage("--date '\(date)' is not a date: use YYYY-MM-DD, e.g. 2025-06-21")
            }
            day = parsed
        } else {
            day = LocalTimeConversion.local(Date(), in: zone).date
        }
        // Both ranges were checked above, so the location exists.
        let location = GeoLocation(latitudeDegrees: latitude, longitudeDegrees: longitude)!
        let report = AstroReport(location: location, date: day, timeZone: zone)
        if console.json {
            console.emit(report.json)
        } else {
            for line in report.lines { console.line(line) }
        }
    }
}

/// The day's events, formatted for the terminal (80 columns) and for JSON.
struct AstroReport {
    let location: GeoLocation
    let date: LocalDate
    let timeZone: ZoneInfo
    let events: [(SolarEvent, SolarEventTime)]

    init(location: GeoLocation, date: LocalDate, timeZone: ZoneInfo) {
        self.location = location
        self.date = date
        self.timeZone = timeZone
        let calculator = SolarCalculator(location: location)
        events = SolarEvent.allCases.map { ($0, calculator.time(of: $0, on: date, timeZone: timeZone)) }
    }

    /// Seconds from sunrise to sunset; 0 in polar night, 86 400 under the midnight sun, nil otherwise.
    var dayLengthSeconds: Double? {
        let sunrise = events.first { $0.0 == .sunrise }!.1
        let sunset = events.first { $0.0 == .sunset }!.1
        switch (sunrise, sunset) {
        case (.at(let rise), .at(let set)) where set > rise: return set.timeIntervalSince(rise)
        case (.polarNight, .polarNight): return 0
        case (.midnightSun, .midnightSun): return 86_400
        default: return nil
        }
    }

    static func plainText(_ event: SolarEvent, _ time: SolarEventTime) -> String {
        switch (time, event) {
        case (.at, _): return ""
        case (.polarNight, .sunrise), (.polarNight, .sunset): return "sun never rises today (polar night)"
        case (.midnightSun, .sunrise), (.midnightSun, .sunset): return "sun never sets today (midnight sun)"
        case (.polarNight, _): return "sun never gets as high as \(Int(90 - event.zenithDegrees))° today"
        case (.midnightSun, _): return "sun never goes below \(Int(90 - event.zenithDegrees))° today (light night)"
        case (.notOnThisDate, _): return "does not happen on this date (it falls on the day before or after)"
        }
    }

    func offsetText(_ instant: Date) -> String {
        let seconds = timeZone.secondsFromGMT(for: instant)
        return String(printf: "UTC%@%02d:%02d", seconds < 0 ? "-" : "+", abs(seconds) / 3600, abs(seconds) / 60 % 60)
    }

    func clock(_ instant: Date, in zone: ZoneInfo) -> String {
        let local = LocalTimeConversion.local(instant, in: zone)
        let s = Int(local.secondsSinceMidnight.rounded(.down))
        var text = String(printf: "%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        let shift = local.date.daysSinceEpoch - date.daysSinceEpoch
        if shift != 0 { text += shift > 0 ? " (+\(shift)d)" : " (\(shift)d)" }
        return text
    }

    var lines: [String] {
        let utc = ZoneInfo.utc
        let lat = String(printf: "%.4f° %@", abs(location.latitudeDegrees), location.latitudeDegrees >= 0 ? "N" : "S")
        let lon = String(printf: "%.4f° %@", abs(location.longitudeDegrees), location.longitudeDegrees >= 0 ? "E" : "W")
        let noon = LocalTimeConversion.instant(on: date, at: TimeOfDay(hours: 12, minutes: 0)!, in: timeZone)
        var lines = [
            "Sun at \(lat), \(lon) on \(date)",
            "time zone \(timeZone.identifier) (\(offsetText(noon)) at noon)",
            "",
            "event           " + "local".fitted(toWidth: 16) + "UTC",
        ]
        for (event, time) in events {
            let name = event.displayName.fitted(toWidth: 16)
            if let instant = time.date {
                lines.append(name + clock(instant, in: timeZone).fitted(toWidth: 16) + clock(instant, in: utc))
            } else {
                lines.append(name + Self.plainText(event, time))
            }
        }
        if let length = dayLengthSeconds {
            let minutes = Int((length / 60).rounded())
            lines.append("day length".fitted(toWidth: 16) + "\(minutes / 60) h \(minutes % 60) min")
        } else {
            lines.append("day length".fitted(toWidth: 16) + "not defined on this date (sunrise and sunset do not pair up)")
        }
        return lines
    }

    struct JSONEvent: Encodable {
        var utc: String?
        var local: String?
        var state: String
        var text: String?
    }

    struct JSONReport: Encodable {
        var latitude: Double
        var longitude: Double
        var date: String
        var timeZone: String
        var events: [String: JSONEvent]
        var dayLengthSeconds: Double?
    }

    var json: JSONReport {
        func local(_ instant: Date) -> String {
            // A fixed-offset zone for this instant: the offset is what the text shows.
            let offset = TimeZone(secondsFromGMT: timeZone.secondsFromGMT(for: instant)) ?? .gmt
            return instant.formatted(Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: offset))
        }
        var out: [String: JSONEvent] = [:]
        for (event, time) in events {
            switch time {
            case .at(let instant):
                out[event.rawValue] = JSONEvent(utc: instant.formatted(Date.ISO8601FormatStyle()), local: local(instant), state: "at")
            case .polarNight:
                out[event.rawValue] = JSONEvent(state: "polarNight", text: Self.plainText(event, time))
            case .midnightSun:
                out[event.rawValue] = JSONEvent(state: "midnightSun", text: Self.plainText(event, time))
            case .notOnThisDate:
                out[event.rawValue] = JSONEvent(state: "notOnThisDate", text: Self.plainText(event, time))
            }
        }
        return JSONReport(latitude: location.latitudeDegrees, longitude: location.longitudeDegrees, date: date.description,
                          timeZone: timeZone.identifier, events: out, dayLengthSeconds: dayLengthSeconds)
    }
}
