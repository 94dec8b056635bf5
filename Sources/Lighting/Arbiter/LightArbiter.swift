import FoundationEssentials
import CivilTime
import TextFormatting

/// What a photocell (light sensor) input says, when the pole has one.
public enum PhotocellReading: String, Hashable, Sendable, Codable {
    case dark
    case light
}

/// The level lampd last commanded before it stopped, restored from its state file on start.
public struct LastCommandedState: Hashable, Sendable, Codable {
    /// 0–100 %.
    public var levelPercent: Double
    public var at: Date

    public init(levelPercent: Double, at: Date) {
        self.levelPercent = levelPercent
        self.at = at
    }
}

/// Everything the arbiter knows at one instant. Plain values: the daemon gathers them.
public struct LightContext: Sendable {
    /// The schedule from a valid configuration; nil when there is none or it failed to load.
    public var schedule: Schedule?
    /// Why there is no schedule (shown in the reason), e.g. "lampd.toml line 12: unknown program 'x'".
    public var configurationProblem: String?
    /// Where the pole stands; nil when not configured.
    public var location: GeoLocation?
    public var timeZone: ZoneInfo
    /// True when the system clock is synchronised (NTP/GNSS); otherwise `now` cannot be trusted.
    public var clockSynchronised: Bool
    /// Seconds since lampd started (a monotonic count, not wall-clock time).
    public var secondsSinceStart: Double
    /// The photocell input, when the pole has one and it reads plausibly.
    public var photocell: PhotocellReading?
    public var overrides: OverrideState
    /// What lampd commanded before the restart (nil on a first start).
    public var lastCommanded: LastCommandedState?
    /// The city's override and schedule from its signed desired state (docs/downlink.md).
    public var city: CityDirections

    public init(schedule: Schedule?, configurationProblem: String? = nil, location: GeoLocation?, timeZone: ZoneInfo,
                clockSynchronised: Bool, secondsSinceStart: Double = .infinity, photocell: PhotocellReading? = nil,
                overrides: OverrideState = OverrideState(), lastCommanded: LastCommandedState? = nil,
                city: CityDirections = CityDirections()) {
        self.schedule = schedule
        self.configurationProblem = configurationProblem
        self.location = location
        self.timeZone = timeZone
        self.clockSynchronised = clockSynchronised
        self.secondsSinceStart = secondsSinceStart
        self.photocell = photocell
        self.overrides = overrides
        self.lastCommanded = lastCommanded
        self.city = city
    }
}

/// Which rule decided the level.
public enum DecisionSource: String, Hashable, Sendable, Codable {
    /// A manual override (technician or upstream).
    case override
    /// The city override of a signed desired state.
    case cityOverride
    /// The city's calendar and programs (or its default light state) of a signed desired state.
    case citySchedule
    /// The calendar's control program.
    case program
    /// Fail-safe: the astro clock (trusted time, known place) says day or night.
    case failSafeAstroClock
    /// Fail-safe: the photocell says dark or light.
    case failSafePhotocell
    /// Fail-safe: nothing is known, so the lamp is on at 100 %.
    case failSafeOn
}

/// The arbiter's answer: a level and why, in words a technician reads (`lampctl lamp explain`).
public struct LightDecision: Hashable, Sendable {
    /// Level to command now, 0–100 % (ramps included).
    public var levelPercent: Double
    /// Level being ramped to (equal to `levelPercent` when not ramping).
    public var targetLevelPercent: Double
    public var source: DecisionSource
    /// E.g. "program 'city-default' switch point sunset+00:10 → 100 %",
    /// "override by technician alice until 23:30 → 0 %",
    /// "fail-safe: clock not synchronised, photocell says dark → 100 %".
    public var reason: String
}

/// Decides the lamp level: technician override → city override → city schedule → local
/// program → fail-safe. Pure: `now` is a parameter.
///
/// An override in `overrides` (a technician's, or an upstream one set through the control
/// socket) comes first; then the city's signed desired state (``CityDirections``): its override,
/// then its calendar (or, without one, its default light state); then the configured schedule.
///
/// Fail-safe (no valid configuration, clock not synchronised): the astro clock if time is
/// trusted and the location known (lit while the sun is below ``failSafeSunElevationDegrees``);
/// else the photocell if there is one; else ON at 100 %. Never dark at night.
/// Overrides need trusted time (their start and expiry are times), so they are ignored while
/// the clock is not synchronised — except a technician's override accepted on that clock
/// (``LightOverride/timedOnUnsynchronisedClock``), which runs as a timer until the clock is
/// synchronised. The last commanded level (restored after a restart) is the
/// starting level of an override's ramp, and is named in the reason during the first
/// ``startupSeconds``; it never lowers a fail-safe level.
public enum LightArbiter {
    /// Fail-safe astro clock: lit while the sun is below this elevation (degrees), a few minutes
    /// before sunset until a few minutes after sunrise — errs on the side of light.
    public static let failSafeSunElevationDegrees = 2.0
    /// Seconds after start during which the reason mentions the restart.
    public static let startupSeconds = 120.0

    static func overrideDecision(_ active: LightOverride, now: Date, context: LightContext, note: String,
                                 source: DecisionSource = .override, label: String? = nil) -> LightDecision {
        let from = context.lastCommanded?.levelPercent ?? Double(active.levelPercent)
        let level = Ramp.levelPercent(from: from, to: Double(active.levelPercent), start: active.start,
                                      durationSeconds: active.rampSeconds, now: now)
        var text = label.map { "\($0) by \(active.source)" } ?? "override by \(active.source)"
        if let expiry = active.expiry { text += " until \(localText(expiry, relativeTo: now, in: context.timeZone))" }
        if let reason = active.reason, !reason.isEmpty { text += " (\(reason))" }
        text += " → \(active.levelPercent) %"
        return LightDecision(levelPercent: level, targetLevelPercent: Double(active.levelPercent), source: source, reason: text + note)
    }

    public static func decide(now: Date, context: LightContext) -> LightDecision {
        let restarting = context.secondsSinceStart < startupSeconds
        let restartNote = restarting
            ? (context.lastCommanded.map { String(printf: " (just restarted; last commanded %.0f %%)", $0.levelPercent) } ?? " (just restarted)")
            : ""
        guard context.clockSynchronised else {
            // A technician's override timed on this (unsynchronised, but
            // steadily running) clock is honoured as a timer; nothing else is.
            if let active = context.overrides.active(at: now), active.timedOnUnsynchronisedClock == true,
               case .technician = active.source {
                return overrideDecision(active, now: now, context: context,
                                        note: " (clock not synchronised: timed on the board's clock)" + restartNote)
            }
            return failSafe(cause: "clock not synchronised" + restartNote, useAstro: false, now: now, context: context)
        }
        if let active = context.overrides.active(at: now) {
            return overrideDecision(active, now: now, context: context, note: restartNote)
        }
        if let city = context.city.override, city.isActive(at: now) {
            return overrideDecision(city, now: now, context: context, note: restartNote, source: .cityOverride,
                                    label: context.city.overrideLabel)
        }
        if let schedule = context.city.schedule, let location = context.location {
            let scheduled = schedule.level(at: now, location: location, timeZone: context.timeZone)
            return LightDecision(levelPercent: scheduled.levelPercent, targetLevelPercent: Double(scheduled.targetLevelPercent),
                                 source: .citySchedule, reason: "\(context.city.scheduleLabel): \(scheduled.explanation)" + restartNote)
        }
        if context.city.schedule == nil, let level = context.city.defaultLightStatePercent {
            return LightDecision(levelPercent: Double(level), targetLevelPercent: Double(level), source: .citySchedule,
                                 reason: "\(context.city.scheduleLabel): default light state → \(level) %" + restartNote)
        }
        guard let schedule = context.schedule, let location = context.location else {
            let cause = context.schedule == nil
                ? "no valid configuration" + (context.configurationProblem.map { " (\($0))" } ?? "")
                : "pole location not configured"
            return failSafe(cause: cause + restartNote, useAstro: true, now: now, context: context)
        }
        let scheduled = schedule.level(at: now, location: location, timeZone: context.timeZone)
        return LightDecision(levelPercent: scheduled.levelPercent, targetLevelPercent: Double(scheduled.targetLevelPercent),
                             source: .program, reason: scheduled.explanation + restartNote)
    }

    private static func failSafe(cause: String, useAstro: Bool, now: Date, context: LightContext) -> LightDecision {
        if useAstro, let location = context.location {
            let elevation = SolarCalculator(location: location).elevationDegrees(at: now)
            let night = elevation < failSafeSunElevationDegrees
            let level = night ? 100.0 : 0.0
            return LightDecision(levelPercent: level, targetLevelPercent: level, source: .failSafeAstroClock,
                                 reason: "fail-safe: \(cause), astro clock says \(night ? "night" : "day") (sun at \(String(printf: "%.1f", elevation))°) → \(Int(level)) %")
        }
        if let photocell = context.photocell {
            let level = photocell == .dark ? 100.0 : 0.0
            return LightDecision(levelPercent: level, targetLevelPercent: level, source: .failSafePhotocell,
                                 reason: "fail-safe: \(cause), photocell says \(photocell.rawValue) → \(Int(level)) %")
        }
        return LightDecision(levelPercent: 100, targetLevelPercent: 100, source: .failSafeOn,
                             reason: "fail-safe: \(cause), no photocell → 100 %")
    }

    /// `23:30` today, or `2025-06-12 23:30` on another date, in `timeZone`.
    static func localText(_ instant: Date, relativeTo now: Date, in timeZone: ZoneInfo) -> String {
        let target = LocalTimeConversion.local(instant, in: timeZone)
        let today = LocalTimeConversion.local(now, in: timeZone).date
        let seconds = Int(target.secondsSinceMidnight)
        let time = String(printf: "%02d:%02d", seconds / 3600, seconds / 60 % 60)
        return target.date == today ? time : "\(target.date) \(time)"
    }
}
