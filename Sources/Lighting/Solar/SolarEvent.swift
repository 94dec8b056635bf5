import FoundationEssentials

/// A solar event a switch point can follow: the sun crossing a given altitude, rising or setting.
///
/// Sunrise and sunset: the sun's upper limb 34′ below the sea-level horizon (the standard
/// refraction at the horizon lifts it into view), seen from the ground, the sun's true
/// semi-diameter (15.8′–16.3′ over the year); civil twilight: the centre 6° below; nautical
/// twilight: 12° below. Altitudes are geometric (no refraction model beyond the 34′).
public enum SolarEvent: String, Sendable, Codable, CaseIterable, Hashable {
    case nauticalDawn
    case civilDawn
    case sunrise
    case sunset
    case civilDusk
    case nauticalDusk

    /// Zenith angle of the sun's centre at the event, in degrees, nominal (the sun's mean
    /// semi-diameter, 16′, for sunrise and sunset); the calculator uses
    /// ``centreAltitudeDegrees(semidiameterDegrees:)``.
    public var zenithDegrees: Double {
        switch self {
        case .sunrise, .sunset: 90.833
        case .civilDawn, .civilDusk: 96
        case .nauticalDawn, .nauticalDusk: 102
        }
    }

    /// The altitude of the sun's centre at the event, in degrees, when the sun's angular
    /// radius is `semidiameterDegrees` (sunrise and sunset are defined by the upper limb).
    public func centreAltitudeDegrees(semidiameterDegrees: Double) -> Double {
        switch self {
        case .sunrise, .sunset: -34.0 / 60 - semidiameterDegrees
        case .civilDawn, .civilDusk: -6
        case .nauticalDawn, .nauticalDusk: -12
        }
    }

    /// True for the morning events (the sun rising through the altitude).
    public var isMorning: Bool {
        switch self {
        case .nauticalDawn, .civilDawn, .sunrise: true
        case .sunset, .civilDusk, .nauticalDusk: false
        }
    }

    /// The crossing of the same altitude in the other direction (sunset for sunrise).
    public var opposite: SolarEvent {
        switch self {
        case .nauticalDawn: .nauticalDusk
        case .civilDawn: .civilDusk
        case .sunrise: .sunset
        case .sunset: .sunrise
        case .civilDusk: .civilDawn
        case .nauticalDusk: .nauticalDawn
        }
    }

    /// Words a technician reads ("civil dusk").
    public var displayName: String {
        switch self {
        case .nauticalDawn: "nautical dawn"
        case .civilDawn: "civil dawn"
        case .sunrise: "sunrise"
        case .sunset: "sunset"
        case .civilDusk: "civil dusk"
        case .nauticalDusk: "nautical dusk"
        }
    }
}

/// When a solar event happens on a given local date — or why it does not.
public enum SolarEventTime: Hashable, Sendable {
    /// The event happens at this instant, within the requested local date.
    case at(Date)
    /// The sun stays below the event's altitude all day ("sun never rises" for sunrise/sunset;
    /// for twilight events: it never even gets as high as −6° / −12°).
    case polarNight
    /// The sun stays above the event's altitude all day ("sun never sets" for sunrise/sunset;
    /// for twilight events: it never gets as low as −6° / −12°, the "white nights").
    case midnightSun
    /// The sun does cross the altitude around this date, but not within this local date
    /// (rare: only near the polar circles, where the event drifts by many minutes a day and
    /// can skip a date entirely).
    case notOnThisDate

    /// The instant, when the event happens on this date.
    public var date: Date? {
        if case .at(let date) = self { return date }
        return nil
    }
}
