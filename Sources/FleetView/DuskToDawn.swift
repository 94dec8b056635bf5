import Foundation
import Lighting

/// The trimming saving's baseline: the hours from sunset to sunrise at a place within a period —
/// what a lamp switched by dusk and dawn alone would burn. Sunset and sunrise are the events
/// lampd's built-in programme follows (`sunset+00:10` … `sunrise-00:10`, docs/lighting.md), taken
/// without the programme's offsets: the ten minutes it trims at each end count as trimming.
public enum DuskToDawn {
    /// The events, as the baseline text names them.
    public static let dusk = SolarEvent.sunset
    public static let dawn = SolarEvent.sunrise
    public static let baselineText = "sunset to sunrise at the pole's position (SolarCalculator, upper limb 34′ below the horizon)"

    /// Hours of [from, to] (Unix seconds) between sunset and sunrise at the place; 0 for a place
    /// that is not a valid position. Polar night counts whole, the midnight sun not at all.
    public static func hours(latitudeDegrees: Double, longitudeDegrees: Double, from: Double, to: Double) -> Double {
        guard let location = GeoLocation(latitudeDegrees: latitudeDegrees, longitudeDegrees: longitudeDegrees),
            from.isFinite, to.isFinite, to > from, to - from <= 400 * 86_400
        else { return 0 }
        let calculator = SolarCalculator(location: location)
        // Half-day windows: one sunset and one sunrise at most in each (two sunsets in one UTC
        // day happen where sunset is near midnight UTC).
        let half = 43_200.0
        var transitions: [(seconds: Double, dark: Bool)] = []
        var start = (from / half).rounded(.down) * half
        while start < to {
            let window = (Date(timeIntervalSince1970: start), Date(timeIntervalSince1970: start + half))
            if let t = calculator.firstTime(of: dusk, from: window.0, to: window.1) { transitions.append((t.timeIntervalSince1970, true)) }
            if let t = calculator.firstTime(of: dawn, from: window.0, to: window.1) { transitions.append((t.timeIntervalSince1970, false)) }
            start += half
        }
        transitions.sort { $0.seconds < $1.seconds }
        let sunAltitude = SolarEvent.sunset.centreAltitudeDegrees(semidiameterDegrees: 16.0 / 60)
        var dark = calculator.elevationDegrees(at: Date(timeIntervalSince1970: from)) < sunAltitude
        var since = from
        var seconds = 0.0
        for transition in transitions where transition.seconds > from && transition.seconds < to {
            if dark && !transition.dark { seconds += transition.seconds - since }
            if !dark && transition.dark { since = transition.seconds }
            dark = transition.dark
        }
        if dark { seconds += to - since }
        return seconds / 3_600
    }
}
