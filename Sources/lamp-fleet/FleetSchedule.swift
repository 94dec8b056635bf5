import Foundation
import Lighting

/// The city schedule every simulated board follows (docs/fleet-simulator.md): lampd's built-in
/// programme — lit from sunset+00:10 to sunrise−00:10 at the fleet's centre, 100 % until 22:00,
/// 50 % from 22:00 to 05:00, 100 % after, in the centre's mean solar time zone (UTC + longitude/15
/// hours, rounded). The sun is computed once per half day for the centre, and the level of every
/// simulated minute once per plan, so 100 000 boards cost nothing more than one.
struct FleetSchedule: Sendable {
    /// The lamp's draw when off (the driver's stand-by), W.
    static let standbyWatts = 0.5
    static let dimmedPercent = 50
    static let dimmingFromHour = 22
    static let dimmingToHour = 5

    /// Level in % per simulated minute.
    let levels: [UInt8]
    /// Per minute, why the level changed then (nil: no change).
    private let reasons: [Int: String]
    /// Sum of the levels of the minutes before each minute (count + 1 entries), for the energy register.
    private let levelMinutesBefore: [Int]

    /// No schedule: the lamp at 100 % all the time and no level events (the simulator before).
    init(minutes: Int) {
        levels = Array(repeating: 100, count: minutes)
        reasons = [:]
        levelMinutesBefore = (0...minutes).map { $0 * 100 }
    }

    init(center: GeoLocation, startSeconds: Int64, minutes: Int) {
        let start = Double(startSeconds)
        let end = start + Double(minutes) * 60
        let calculator = SolarCalculator(location: center)
        // Sunsets and sunrises from a day before to a day after, in half-day windows (at most one of each).
        var crossings: [(seconds: Double, isSunset: Bool)] = []
        var window = ((start - 86_400) / 43_200).rounded(.down) * 43_200
        while window < end + 86_400 {
            let (from, to) = (Date(timeIntervalSince1970: window), Date(timeIntervalSince1970: window + 43_200))
            if let t = calculator.firstTime(of: .sunset, from: from, to: to) { crossings.append((t.timeIntervalSince1970, true)) }
            if let t = calculator.firstTime(of: .sunrise, from: from, to: to) { crossings.append((t.timeIntervalSince1970, false)) }
            window += 43_200
        }
        crossings.sort { $0.seconds < $1.seconds }
        // Lit periods: sunset + 10 min … the next sunrise − 10 min.
        var lit: [Range<Double>] = []
        for (index, crossing) in crossings.enumerated() where crossing.isSunset {
            if let sunrise = crossings[(index + 1)...].first(where: { !$0.isSunset }), sunrise.seconds - 600 > crossing.seconds + 600 {
                lit.append((crossing.seconds + 600)..<(sunrise.seconds - 600))
            }
        }
        let zoneOffset = (center.longitudeDegrees / 15).rounded() * 3_600
        var levels: [UInt8] = []
        var reasons: [Int: String] = [:]
        var before = [0]
        levels.reserveCapacity(minutes)
        before.reserveCapacity(minutes + 1)
        var period = 0
        for minute in 0..<minutes {
            let t = start + Double(minute) * 60
            while period < lit.count, lit[period].upperBound <= t { period += 1 }
            let isLit = period < lit.count && lit[period].contains(t)
            let localHour = Int((((t + zoneOffset).truncatingRemainder(dividingBy: 86_400)) + 86_400).truncatingRemainder(dividingBy: 86_400) / 3_600)
            let dimmed = localHour >= Self.dimmingFromHour || localHour < Self.dimmingToHour
            let level: UInt8 = isLit ? (dimmed ? UInt8(Self.dimmedPercent) : 100) : 0
            let previous = levels.last
            if previous != level {
                let why: String
                if level == 0 {
                    why = previous == nil ? "outside the active period sunset+00:10 … sunrise-00:10 → 0 %" : "active period ends at sunrise-00:10 → 0 %"
                } else if level == UInt8(Self.dimmedPercent) {
                    why = "switch point 22:00 → \(level) %"
                } else if previous == UInt8(Self.dimmedPercent) || (previous == nil && localHour < 12) {
                    why = "switch point 05:00 → \(level) %"
                } else {
                    why = "active period starts at sunset+00:10 → \(level) %"
                }
                reasons[minute] = "lamp \(previous.map { "\($0) % → \(level) %" } ?? "→ \(level) %"): program 'city-default' \(why)"
            }
            levels.append(level)
            before.append((before.last ?? 0) + Int(level))
        }
        self.levels = levels
        self.reasons = reasons
        levelMinutesBefore = before
    }

    /// The level-change event's message of `minute`, if the level changes then (always at minute 0).
    func change(_ minute: Int) -> (level: Double, message: String)? {
        reasons[minute].map { (Double(levels[minute]), $0) }
    }

    /// The lamp's power in `minute`, W.
    func watts(rated: Double, minute: Int) -> Double {
        rated * Double(levels[minute]) / 100 + Self.standbyWatts
    }

    /// The energy the lamp used from minute 0 up to `seconds` into `minute`, J.
    func joules(rated: Double, minute: Int, secondsIntoMinute: Double) -> Double {
        rated * Double(levelMinutesBefore[minute]) / 100 * 60 + Self.standbyWatts * Double(minute) * 60
            + watts(rated: rated, minute: minute) * secondsIntoMinute
    }
}
