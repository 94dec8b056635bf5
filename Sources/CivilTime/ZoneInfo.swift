#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation  // Platforms without the split Foundation (macOS): same `Date`.
#endif

/// The rules of one IANA time zone (e.g. `Europe/Berlin`), read from the bytes of a compiled
/// zone file (TZif, RFC 8536): the UTC offset, abbreviation and DST flag at any instant.
///
/// Why it exists: lampd links only `FoundationEssentials`, where `TimeZone(identifier:)` knows
/// only UTC/GMT-style zones (named zones come from ICU). The system's tzdata has every zone.
///
/// What a caller must know:
/// - This type does no I/O: the caller reads `/usr/share/zoneinfo/<identifier>` and passes
///   the bytes. Bad bytes give a ``ZoneInfoError``, never a crash.
/// - Offsets are **seconds east of UTC** (Berlin in summer: +7200), like
///   `TimeZone.secondsFromGMT(for:)`. Sub-second parts of a `Date` are ignored (rounded down).
/// - TZif versions 1 to 4 are read; for version 2 and later the 64-bit data is used.
/// - Before the first listed transition the zone's first local time type applies (RFC 8536
///   §3.2); after the last one, the footer's POSIX TZ rule (e.g. `CET-1CEST,M3.5.0,M10.5.0/3`),
///   so instants after 2037 and far into the future follow the current rules. A file without
///   transitions (UTC) uses its footer, or its only local time type.
/// - Files with leap seconds (`right/…` zones) are read too: their transition times are turned
///   into POSIX seconds, which is what `Date` counts.
/// - Europe/Dublin shows the "negative DST" of tzdata's main format: `IST` (UTC+1, summer) is
///   standard time and `GMT` (winter) is daylight time, so ``isDaylightSavingTime(for:)`` is
///   true in **winter** there. ``secondsFromGMT(for:)`` is right either way.
public struct ZoneInfo: Sendable, Hashable {
    /// The zone's name, as the caller gave it (e.g. `Europe/Berlin`).
    public let identifier: String

    /// One local time type of the file: offset, DST flag, abbreviation.
    struct LocalTimeType: Sendable, Hashable {
        /// Seconds east of UTC.
        var utOffsetSeconds: Int
        var isDaylightSavingTime: Bool
        var abbreviation: String
    }

    /// Transition instants, POSIX seconds, strictly ascending.
    let transitionTimes: [Int64]
    /// For each transition, the index into `localTimeTypes` in force from it on.
    let transitionTypeIndices: [Int]
    /// At least one entry.
    let localTimeTypes: [LocalTimeType]
    /// The footer's rule for instants after the last transition; nil when absent or empty.
    let rule: ZoneInfoPOSIXRule?

    /// UTC: offset 0, abbreviation `UTC`, no file needed.
    public static let utc = ZoneInfo(
        identifier: "UTC", transitionTimes: [], transitionTypeIndices: [],
        localTimeTypes: [LocalTimeType(utOffsetSeconds: 0, isDaylightSavingTime: false, abbreviation: "UTC")],
        rule: nil)

    init(identifier: String, transitionTimes: [Int64], transitionTypeIndices: [Int],
         localTimeTypes: [LocalTimeType], rule: ZoneInfoPOSIXRule?) {
        self.identifier = identifier
        self.transitionTimes = transitionTimes
        self.transitionTypeIndices = transitionTypeIndices
        self.localTimeTypes = localTimeTypes
        self.rule = rule
    }

    /// A zone with no history, only a POSIX TZ rule such as `CET-1CEST,M3.5.0,M10.5.0/3` or
    /// `<+0330>-3:30` (offsets in the string count hours **west** of Greenwich). The rule
    /// applies to every instant, also to years before it was in force.
    public init(identifier: String, posixTZ text: String) throws(ZoneInfoError) {
        let rule: ZoneInfoPOSIXRule
        do {
            rule = try ZoneInfoPOSIXRule(parsing: text)
        } catch {
            throw .invalidTZString(identifier, text, error.reason)
        }
        self.init(
            identifier: identifier, transitionTimes: [], transitionTypeIndices: [],
            localTimeTypes: [LocalTimeType(
                utOffsetSeconds: rule.standard.utOffsetSeconds, isDaylightSavingTime: false,
                abbreviation: rule.standard.abbreviation)],
            rule: rule)
    }

    /// Seconds east of UTC at `date` (Berlin: 3600 in winter, 7200 in summer).
    public func secondsFromGMT(for date: Date) -> Int {
        localTime(at: Self.posixSeconds(date)).utOffsetSeconds
    }

    /// The abbreviation in force at `date` (`CET`, `CEST`, `+0530`, …).
    public func abbreviation(for date: Date) -> String {
        localTime(at: Self.posixSeconds(date)).abbreviation
    }

    /// Whether the zone file calls the local time at `date` daylight time (see the note on
    /// Europe/Dublin in the type's documentation).
    public func isDaylightSavingTime(for date: Date) -> Bool {
        localTime(at: Self.posixSeconds(date)).isDaylightSavingTime
    }

    /// The local time type in force at `seconds` (POSIX seconds).
    func localTime(at seconds: Int64) -> LocalTimeType {
        guard let first = transitionTimes.first, let last = transitionTimes.last else {
            return rule.map { Self.localTime($0, at: seconds) } ?? localTimeTypes[0]
        }
        if seconds < first { return localTimeTypes[0] }
        if seconds > last, let rule { return Self.localTime(rule, at: seconds) }
        // The last transition at or before `seconds`.
        var low = 0
        var high = transitionTimes.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if transitionTimes[middle] <= seconds { low = middle } else { high = middle - 1 }
        }
        return localTimeTypes[transitionTypeIndices[low]]
    }

    private static func localTime(_ rule: ZoneInfoPOSIXRule, at seconds: Int64) -> LocalTimeType {
        let (designation, isDaylight) = rule.designation(at: seconds)
        return LocalTimeType(
            utOffsetSeconds: designation.utOffsetSeconds, isDaylightSavingTime: isDaylight,
            abbreviation: designation.abbreviation)
    }

    /// Whole POSIX seconds of `date`, rounded down, kept within ±2^53 (about ±285 million
    /// years) so that calendar arithmetic cannot overflow; infinities and NaN are clamped too.
    static func posixSeconds(_ date: Date) -> Int64 {
        let limit = Double(1 << 53)
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds.isFinite else { return seconds > 0 ? Int64(limit) : -Int64(limit) }
        return Int64(min(max(seconds, -limit), limit))
    }
}
