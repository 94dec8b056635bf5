import FoundationEssentials
import Glibc
import CivilTime

/// Sunrise, sunset and twilight times from the NOAA / Meeus low-precision solar model.
///
/// The sun's declination and the equation of time are recomputed at the event's own
/// instant until the time converges (below 0.1 s), which removes the error of the
/// single-pass "solar noon" method (up to ~1 min at high latitudes).
///
/// **"The day"** is a local calendar date in a given IANA time zone: the events returned
/// for `2025-06-21` in `Europe/Berlin` are those whose instant falls between local midnight
/// at the start and local midnight at the end of that date (23 or 25 hours on DST days).
/// Pass `ZoneInfo.utc` to get the events of a UTC date.
///
/// Accuracy: compared with the `ephem` ephemeris (see Tests/LightingTests/Reference),
/// within 30 s at |latitude| ≤ 65° (measured figures in docs/lighting.md). Never returns
/// NaN or a made-up time: high latitudes give ``SolarEventTime/polarNight`` or
/// ``SolarEventTime/midnightSun``.
public struct SolarCalculator: Sendable {
    public var location: GeoLocation

    public init(location: GeoLocation) {
        self.location = location
    }

    /// All six events of `date` in `timeZone`.
    public func events(on date: LocalDate, timeZone: ZoneInfo) -> [SolarEvent: SolarEventTime] {
        var result: [SolarEvent: SolarEventTime] = [:]
        for event in SolarEvent.allCases {
            result[event] = time(of: event, on: date, timeZone: timeZone)
        }
        return result
    }

    /// When `event` happens on the local `date` in `timeZone`.
    public func time(of event: SolarEvent, on date: LocalDate, timeZone: ZoneInfo) -> SolarEventTime {
        let dayStart = LocalTimeConversion.startOfDay(date, in: timeZone).timeIntervalSince1970
        let dayEnd = LocalTimeConversion.startOfDay(date.adding(days: 1), in: timeZone).timeIntervalSince1970
        if let first = crossingInstants(of: event, from: dayStart, to: dayEnd).min() {
            return .at(Date(timeIntervalSince1970: first))
        }
        // No crossing on this date. If the opposite crossing (dawn for dusk, …) is missing too,
        // the sun stayed on one side of the altitude all day; otherwise the event merely
        // skipped this date (it happens just before or after it).
        let opposite = event.opposite
        if !crossingInstants(of: opposite, from: dayStart, to: dayEnd).isEmpty {
            return .notOnThisDate
        }
        let elevation = elevationDegrees(at: Date(timeIntervalSince1970: dayStart))
        return elevation > 90 - event.zenithDegrees ? .midnightSun : .polarNight
    }

    /// Instants (seconds since 1970) in [start, end) at which `event` happens.
    func crossingInstants(of event: SolarEvent, from start: Double, to end: Double) -> [Double] {
        // Solar days whose noon is near this interval: with time-zone offsets and DST, the
        // event may belong to the solar day before or after the one nearest local noon.
        let lon = location.longitudeDegrees
        let middle = (start + end) / 2
        let nearestDay = ((middle + lon / 360 * 86_400 - 43_200) / 86_400).rounded()
        var found: [Double] = []
        for k in -1...1 {
            let approximateNoon = (nearestDay + Double(k)) * 86_400 + 43_200 - lon / 360 * 86_400
            if case .at(let instant) = iterate(event: event, approximateNoon: approximateNoon) {
                let t = instant.timeIntervalSince1970
                if t >= start && t < end { found.append(t) }
            }
        }
        return found
    }

    /// The sun's elevation above the horizon in degrees (geometric, no refraction) at `instant`.
    public func elevationDegrees(at instant: Date) -> Double {
        let t = instant.timeIntervalSince1970
        let position = SolarPosition(unixSeconds: t)
        let minutesOfDay = (t.truncatingRemainder(dividingBy: 86_400) + 86_400).truncatingRemainder(dividingBy: 86_400) / 60
        let trueSolarTime = minutesOfDay + position.equationOfTimeMinutes + 4 * location.longitudeDegrees
        let hourAngle = (trueSolarTime / 4 - 180) * .pi / 180
        let lat = location.latitudeDegrees * .pi / 180
        let decl = position.declinationRadians
        let cosZenith = sin(lat) * sin(decl) + cos(lat) * cos(decl) * cos(hourAngle)
        return 90 - acos(min(1, max(-1, cosZenith))) * 180 / .pi
    }

    /// One event on the solar day whose noon is near `approximateNoon` (seconds since 1970),
    /// recomputing the sun's position at the event time until it converges.
    private func iterate(event: SolarEvent, approximateNoon: Double) -> SolarEventTime {
        let lat = location.latitudeDegrees * .pi / 180
        let lon = location.longitudeDegrees
        let cosZenith = cos(event.zenithDegrees * .pi / 180)
        // The UTC day number of the solar day; solar noon = that day's 12:00 UTC − 4 min × lon − EoT.
        let dayStartUTC = ((approximateNoon + lon / 360 * 86_400 - 43_200) / 86_400).rounded() * 86_400
        var t = approximateNoon
        var outOfRange: SolarEventTime? = nil
        for _ in 0..<12 {
            let position = SolarPosition(unixSeconds: t)
            let decl = position.declinationRadians
            let cosHourAngle = (cosZenith - sin(lat) * sin(decl)) / (cos(lat) * cos(decl))
            // Out of range: no crossing at this instant's declination. Keep iterating from the
            // extreme (solar midnight / noon) because the declination there may allow one; give
            // up only when the last iterations still find none.
            outOfRange = cosHourAngle > 1 ? .polarNight : (cosHourAngle < -1 ? .midnightSun : nil)
            let hourAngleDegrees = acos(min(1, max(-1, cosHourAngle))) * 180 / .pi
            let signedHourAngle = event.isMorning ? -hourAngleDegrees : hourAngleDegrees
            let minutes = 720 - 4 * (lon - signedHourAngle) - position.equationOfTimeMinutes
            let next = dayStartUTC + minutes * 60
            if abs(next - t) < 0.1 {
                t = next
                break
            }
            t = next
        }
        if let outOfRange { return outOfRange }
        guard t.isFinite else { return .notOnThisDate }
        return .at(Date(timeIntervalSince1970: t))
    }
}

/// The sun's declination and the equation of time at one instant (NOAA spreadsheet formulas).
struct SolarPosition {
    let declinationRadians: Double
    let equationOfTimeMinutes: Double

    init(unixSeconds: Double) {
        let julianDay = unixSeconds / 86_400 + 2_440_587.5
        let t = (julianDay - 2_451_545) / 36_525  // Julian centuries since J2000.0.
        let rad = Double.pi / 180
        let meanLongitude = (280.46646 + t * (36_000.76983 + t * 0.0003032)).truncatingRemainder(dividingBy: 360)
        let meanAnomaly = 357.52911 + t * (35_999.05029 - 0.0001537 * t)
        let eccentricity = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
        let center = sin(meanAnomaly * rad) * (1.914602 - t * (0.004817 + 0.000014 * t))
            + sin(2 * meanAnomaly * rad) * (0.019993 - 0.000101 * t)
            + sin(3 * meanAnomaly * rad) * 0.000289
        let trueLongitude = meanLongitude + center
        let omega = (125.04 - 1934.136 * t) * rad
        let apparentLongitude = trueLongitude - 0.00569 - 0.00478 * sin(omega)
        let meanObliquity = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
        let obliquity = meanObliquity + 0.00256 * cos(omega)
        declinationRadians = asin(sin(obliquity * rad) * sin(apparentLongitude * rad))
        let y = pow(tan(obliquity * rad / 2), 2)
        let l0 = meanLongitude * rad
        let m = meanAnomaly * rad
        let eot = y * sin(2 * l0) - 2 * eccentricity * sin(m)
            + 4 * eccentricity * y * sin(m) * cos(2 * l0)
            - 0.5 * y * y * sin(4 * l0) - 1.25 * eccentricity * eccentricity * sin(2 * m)
        equationOfTimeMinutes = 4 * eot / rad
    }
}
