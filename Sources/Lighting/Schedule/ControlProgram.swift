import FoundationEssentials
import CivilTime
import TextFormatting

/// When a switch point fires: a fixed local wall-clock time, or a solar event ± an offset.
///
/// Text form (used in JSON/TOML and in explanations): `"23:00"`, `"05:30:00"`,
/// `"sunset+00:10"`, `"sunrise-00:15"`, `"civilDusk"`. Offsets are hours:minutes.
public enum SwitchTime: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Local wall-clock time in the pole's time zone (DST rules: see ``LocalTimeConversion``).
    case fixed(TimeOfDay)
    /// A solar event shifted by `offsetMinutes` (negative = before the event).
    case solar(SolarEvent, offsetMinutes: Int)

    /// Parses the text form; nil when it is not one.
    public init?(_ text: String) {
        if let time = TimeOfDay(text) {
            self = .fixed(time)
            return
        }
        let signIndex = text.firstIndex(where: { $0 == "+" || $0 == "-" })
        let name = String(text[..<(signIndex ?? text.endIndex)])
        guard let event = SolarEvent(rawValue: name) else { return nil }
        guard let signIndex else {
            self = .solar(event, offsetMinutes: 0)
            return
        }
        let sign = text[signIndex] == "-" ? -1 : 1
        let rest = text[text.index(after: signIndex)...].split(separator: ":", omittingEmptySubsequences: false)
        guard rest.count == 2, rest.allSatisfy({ $0.count == 2 }), let h = Int(rest[0]), let m = Int(rest[1]),
              (0...12).contains(h), (0..<60).contains(m)
        else { return nil }
        self = .solar(event, offsetMinutes: sign * (h * 60 + m))
    }

    /// The text form, e.g. `sunset+00:10`.
    public var description: String {
        switch self {
        case .fixed(let time):
            return time.description
        case .solar(let event, let offset):
            if offset == 0 { return event.rawValue }
            return String(printf: "%@%@%02d:%02d", event.rawValue, offset < 0 ? "-" : "+", abs(offset) / 60, abs(offset) % 60)
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = SwitchTime(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "'\(text)' is not a switch time: use HH:MM, or an event (sunset, sunrise, civilDusk, civilDawn, nauticalDusk, nauticalDawn) with an optional offset like sunset+00:10"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// One step of a control program: from `at`, the lamp goes to `levelPercent`.
public struct SwitchPoint: Hashable, Sendable, Codable, CustomStringConvertible {
    public var at: SwitchTime
    /// Light level 0–100 %.
    public var levelPercent: Int
    /// Seconds taken to ramp from the previous level to this one (TALQ `rampToLevelTime`); 0 = jump.
    public var rampSeconds: Double

    public init(at: SwitchTime, levelPercent: Int, rampSeconds: Double = 0) {
        self.at = at
        self.levelPercent = levelPercent
        self.rampSeconds = rampSeconds
    }

    enum CodingKeys: String, CodingKey { case at, levelPercent = "level", rampSeconds }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        at = try c.decode(SwitchTime.self, forKey: .at)
        levelPercent = try c.decode(Int.self, forKey: .levelPercent)
        rampSeconds = try c.decodeIfPresent(Double.self, forKey: .rampSeconds) ?? 0
    }

    /// `sunset+00:10 → 100 %`.
    public var description: String { "\(at) → \(levelPercent) %" }
}

/// When a program is active within its lighting day (TALQ `AstroClockActivePeriod` /
/// `AbsoluteActivePeriod`), e.g. from `sunset+00:10` to `sunrise-00:10`.
///
/// Outside the period the program asks for 0 %; inside, the switch points decide. At the
/// start of the period the level is the one the switch points were at then.
public struct ActivePeriod: Hashable, Sendable, Codable, CustomStringConvertible {
    public var from: SwitchTime
    public var to: SwitchTime

    public init(from: SwitchTime, to: SwitchTime) {
        self.from = from
        self.to = to
    }

    /// `sunset+00:10…sunrise-00:10`.
    public var description: String { "\(from)…\(to)" }
}

/// A named day plan (TALQ `ControlProgram`): an optional active period and switch points.
///
/// Switch points are placed in the program's **lighting day**, which runs from local noon of
/// date D to local noon of D+1 (TALQ `dayOffset` = 12), so the night that spans midnight
/// belongs to D: fixed times from 12:00 to 23:59 fall on D, times before 12:00 on D+1;
/// dusk/sunset are the evening of D, dawn/sunrise the morning of D+1.
///
/// Without an active period the switch points alone decide, all day; before the first switch
/// point of a lighting day the level of the last one carries over. With an active period
/// (the usual dusk-to-dawn program), the lamp is at 0 % outside it, and inside it at the
/// level of the last switch point — the points wrap around within the lighting day, so a
/// "05:00 → 100 %" point still defines the level at dusk the evening before.
public struct ControlProgram: Hashable, Sendable, Codable, Identifiable {
    /// The program's identifier, e.g. `city-default`.
    public var id: String
    /// nil = active all day.
    public var activePeriod: ActivePeriod?
    public var switchPoints: [SwitchPoint]

    public init(id: String, activePeriod: ActivePeriod? = nil, switchPoints: [SwitchPoint]) {
        self.id = id
        self.activePeriod = activePeriod
        self.switchPoints = switchPoints
    }
}
