import FoundationEssentials
import Glibc
import CivilTime

/// Sunrise, sunset and twilight times from the sun's position by VSOP87 (``SolarPosition``).
///
/// Each event is the instant the sun's altitude, seen from the ground, crosses the event's
/// (``SolarEvent/centreAltitudeDegrees(semidiameterDegrees:)``), found by a bracketed root
/// search on the altitude itself (``SolarDay``) so that it converges where the sun grazes
/// the horizon.
///
/// **"The day"** is a local calendar date in a given IANA time zone: the events returned
/// for `2025-06-21` in `Europe/Berlin` are those whose instant falls between local midnight
/// at the start and local midnight at the end of that date (23 or 25 hours on DST days).
/// Pass `ZoneInfo.utc` to get the events of a UTC date.
///
/// Accuracy: compared with the `ephem` ephemeris on every date of a year (see
/// Tests/LightingTests/Reference), within 10 s at |latitude| ≤ 65° and 60 s up to 70°
/// (measured figures in docs/lighting.md). Never returns
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
        let position = SolarPosition(unixSeconds: dayStart)
        let elevation = altitudeDegrees(at: dayStart, position: position)
        return elevation > event.centreAltitudeDegrees(semidiameterDegrees: position.semidiameterDegrees) ? .midnightSun : .polarNight
    }

    /// Instants (seconds since 1970) in [start, end) at which `event` happens.
    func crossingInstants(of event: SolarEvent, from start: Double, to end: Double) -> [Double] {
        guard start.isFinite, end.isFinite, abs(start) < 1e12, abs(end) < 1e12 else { return [] }
        // Solar days whose noon is near this interval: with time-zone offsets and DST, the
        // event may belong to the solar day before or after the one nearest local noon.
        let lon = location.longitudeDegrees
        let middle = (start + end) / 2
        let nearestDay = ((middle + lon / 360 * 86_400 - 43_200) / 86_400).rounded()
        var found: [Double] = []
        for k in -1...1 {
            let approximateNoon = (nearestDay + Double(k)) * 86_400 + 43_200 - lon / 360 * 86_400
            let day = SolarDay(calculator: self, approximateNoon: approximateNoon)
            if let t = day.crossing(of: event), t >= start && t < end { found.append(t) }
        }
        return found
    }

    /// The sun's elevation above the horizon in degrees at `instant`: its centre, seen from
    /// the ground (parallax included), without refraction.
    public func elevationDegrees(at instant: Date) -> Double {
        let t = instant.timeIntervalSince1970
        return altitudeDegrees(at: t, position: SolarPosition(unixSeconds: t))
    }

    /// The altitude of the sun's centre (degrees, topocentric, no refraction) at `unixSeconds`,
    /// where the sun is at `position` (computed for that instant or interpolated to it).
    func altitudeDegrees(at unixSeconds: Double, position: SolarPosition) -> Double {
        let lat = location.latitudeDegrees * .pi / 180
        let hourAngle = hourAngleRadians(at: unixSeconds, position: position)
        let decl = position.declinationRadians
        let sinAltitude = sin(lat) * sin(decl) + cos(lat) * cos(decl) * cos(hourAngle)
        let geocentric = asin(min(1, max(-1, sinAltitude)))
        return geocentric * 180 / .pi - position.horizontalParallaxDegrees * cos(geocentric)
    }

    /// The sun's local hour angle in radians (0 at noon, negative in the morning), −π … π.
    func hourAngleRadians(at unixSeconds: Double, position: SolarPosition) -> Double {
        let sidereal = SolarPosition.meanSiderealRadians(unixSeconds: unixSeconds) + position.equationOfEquinoxesRadians
        let angle = sidereal + location.longitudeDegrees * .pi / 180 - position.rightAscensionRadians
        return remainder(angle, 2 * .pi)
    }
}

/// One solar day (lower culmination to lower culmination) at the calculator's location, with
/// the sun's position interpolated from three exact ones a day apart (error well below 0.1″),
/// and its crossings of an event's altitude.
///
/// The altitude rises monotonically from the lower culmination to noon and falls after it,
/// so a morning event exists on this solar day exactly when the altitude is below the event's
/// at the lower culmination and above it at noon; it is then found by Newton's method kept
/// inside that bracket (bisection when a step would leave it), to 1 ms. No fixed-point
/// iteration on the hour angle: that one converges slowly, or not at all, where the sun
/// grazes the horizon.
struct SolarDay {
    let calculator: SolarCalculator
    let anchor: Double
    let anchors: (SolarPosition, SolarPosition, SolarPosition)
    private(set) var noon: Double
    private(set) var lowerCulminationBefore: Double
    private(set) var lowerCulminationAfter: Double

    init(calculator: SolarCalculator, approximateNoon: Double) {
        self.calculator = calculator
        anchor = approximateNoon
        anchors = (
            SolarPosition(unixSeconds: approximateNoon - 86_400),
            SolarPosition(unixSeconds: approximateNoon),
            SolarPosition(unixSeconds: approximateNoon + 86_400)
        )
        // Placeholders until the culminations are solved (they need the interpolation).
        noon = approximateNoon
        lowerCulminationBefore = approximateNoon - 43_200
        lowerCulminationAfter = approximateNoon + 43_200
        let solvedNoon = culmination(near: approximateNoon, hourAngle: 0)
        lowerCulminationBefore = culmination(near: solvedNoon - 43_200, hourAngle: .pi)
        lowerCulminationAfter = culmination(near: solvedNoon + 43_200, hourAngle: .pi)
        noon = solvedNoon
    }

    /// The sun's position at `t`, interpolated (quadratic through the three anchors).
    func position(at t: Double) -> SolarPosition {
        let x = (t - anchor) / 86_400
        func interpolate(_ before: Double, _ middle: Double, _ after: Double) -> Double {
            middle + x * (after - before) / 2 + x * x * (after - 2 * middle + before) / 2
        }
        let (p0, p1, p2) = anchors
        let ra1 = p1.rightAscensionRadians
        return SolarPosition(
            rightAscensionRadians: interpolate(
                ra1 + remainder(p0.rightAscensionRadians - ra1, 2 * .pi), ra1,
                ra1 + remainder(p2.rightAscensionRadians - ra1, 2 * .pi)
            ),
            declinationRadians: interpolate(p0.declinationRadians, p1.declinationRadians, p2.declinationRadians),
            distanceAU: interpolate(p0.distanceAU, p1.distanceAU, p2.distanceAU),
            equationOfEquinoxesRadians: interpolate(p0.equationOfEquinoxesRadians, p1.equationOfEquinoxesRadians, p2.equationOfEquinoxesRadians)
        )
    }

    /// When the sun's hour angle is `target` (0: noon, π: lower culmination), near `start`.
    private func culmination(near start: Double, hourAngle target: Double) -> Double {
        var t = start
        for _ in 0..<8 {
            let angle = calculator.hourAngleRadians(at: t, position: position(at: t))
            let step = remainder(target - angle, 2 * .pi) / (2 * .pi) * 86_400
            guard step.isFinite else { return start }
            t += step
            if abs(step) < 0.001 { break }
        }
        return t
    }

    /// How far the sun is above the event's altitude at `t` (degrees), signed so that it grows
    /// through the event (negative before it, positive after).
    private func distancePast(_ event: SolarEvent, at t: Double) -> Double {
        let p = position(at: t)
        let above = calculator.altitudeDegrees(at: t, position: p) - event.centreAltitudeDegrees(semidiameterDegrees: p.semidiameterDegrees)
        return event.isMorning ? above : -above
    }

    /// The instant of `event` on this solar day, or nil when the sun does not cross its altitude.
    func crossing(of event: SolarEvent) -> Double? {
        var low = event.isMorning ? lowerCulminationBefore : noon
        var high = event.isMorning ? noon : lowerCulminationAfter
        guard low < high, distancePast(event, at: low) < 0, distancePast(event, at: high) >= 0 else { return nil }
        // Start from the classic hour-angle estimate at noon's declination.
        let lat = calculator.location.latitudeDegrees * .pi / 180
        let decl = position(at: noon).declinationRadians
        let target = event.centreAltitudeDegrees(semidiameterDegrees: anchors.1.semidiameterDegrees) * .pi / 180
        let cosHourAngle = (sin(target) - sin(lat) * sin(decl)) / (cos(lat) * cos(decl))
        let offset = acos(min(1, max(-1, cosHourAngle))) / (2 * .pi) * 86_400
        var t = event.isMorning ? noon - offset : noon + offset
        if !(t > low && t < high) { t = (low + high) / 2 }
        let degreesPerSecond = 360.985_647 / 86_400
        for _ in 0..<100 {
            let value = distancePast(event, at: t)
            if value < 0 { low = t } else { high = t }
            // dh/dt of the geocentric altitude at fixed declination.
            let p = position(at: t)
            let hourAngle = calculator.hourAngleRadians(at: t, position: p)
            let altitude = calculator.altitudeDegrees(at: t, position: p) * .pi / 180
            let rate = -cos(lat) * cos(p.declinationRadians) * sin(hourAngle) / cos(altitude) * degreesPerSecond
            var next = t - value / (event.isMorning ? rate : -rate)
            if !(next > low && next < high) { next = (low + high) / 2 }
            let step = abs(next - t)
            t = next
            if step < 0.001 || high - low < 0.001 { break }
        }
        return t
    }
}

extension SolarPosition {
    /// A position from its parts (for interpolation).
    init(rightAscensionRadians: Double, declinationRadians: Double, distanceAU: Double, equationOfEquinoxesRadians: Double) {
        self.rightAscensionRadians = rightAscensionRadians
        self.declinationRadians = declinationRadians
        self.distanceAU = distanceAU
        self.equationOfEquinoxesRadians = equationOfEquinoxesRadians
    }
}
