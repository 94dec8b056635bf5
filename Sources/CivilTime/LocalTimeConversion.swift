import FoundationEssentials

/// Converts between instants and wall-clock time in an IANA time zone, with the DST rules
/// lampd documents (see docs/lighting.md, "Daylight saving time").
///
/// - A wall-clock time that does not exist (inside the spring-forward gap, e.g. 02:30 in
///   Europe/Berlin on the last Sunday of March) resolves to the end of the gap: the instant
///   the clocks jump (03:00 local).
/// - A wall-clock time that happens twice (the fall-back night, e.g. 02:30 on the last
///   Sunday of October in Europe/Berlin) resolves to its **first** occurrence (still
///   summer time), so a switch point fires once.
///
/// Only `ZoneInfo.secondsFromGMT(for:)` is used: no system calendar, no clock.
public enum LocalTimeConversion {
    /// The instant at which `time` on `date` happens in `timeZone` (rules above).
    public static func instant(on date: LocalDate, at time: TimeOfDay, in timeZone: ZoneInfo) -> Date {
        instant(on: date, secondsSinceMidnight: time.secondsSinceMidnight, in: timeZone)
    }

    /// Same as ``instant(on:at:in:)`` for a seconds-after-midnight value (may exceed 86 400).
    public static func instant(on date: LocalDate, secondsSinceMidnight: Int, in timeZone: ZoneInfo) -> Date {
        let naive = Double(date.daysSinceEpoch * 86_400 + secondsSinceMidnight)
        let offsetBefore = Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: naive - 86_400)))
        let offsetAfter = Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: naive + 86_400)))
        var valid: [Double] = []
        for offset in Set([offsetBefore, offsetAfter]) {
            let candidate = naive - offset
            if Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: candidate))) == offset {
                valid.append(candidate)
            }
        }
        if let first = valid.min() {
            return Date(timeIntervalSince1970: first)  // Repeated time: the first occurrence.
        }
        // Nonexistent time: find the transition instant (the offset changes there) by bisection
        // between the two readings of the naive time.
        // Whole seconds: low has the old offset, high the new one; stop when they are adjacent.
        var low = (naive - max(offsetBefore, offsetAfter)).rounded(.down)
        var high = (naive - min(offsetBefore, offsetAfter)).rounded(.up)
        let offsetAtLow = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: low))
        while high - low > 1 {
            let mid = ((low + high) / 2).rounded(.down)
            if timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: mid)) == offsetAtLow {
                low = mid
            } else {
                high = mid
            }
        }
        return Date(timeIntervalSince1970: high)
    }

    /// The local date and seconds after local midnight of `instant` in `timeZone`.
    public static func local(_ instant: Date, in timeZone: ZoneInfo) -> (date: LocalDate, secondsSinceMidnight: Double) {
        let shifted = instant.timeIntervalSince1970 + Double(timeZone.secondsFromGMT(for: instant))
        let days = Int((shifted / 86_400).rounded(.down))
        return (LocalDate(daysSinceEpoch: days), shifted - Double(days) * 86_400)
    }

    /// Local midnight at the start of `date` (or the first existing instant of that date).
    public static func startOfDay(_ date: LocalDate, in timeZone: ZoneInfo) -> Date {
        instant(on: date, secondsSinceMidnight: 0, in: timeZone)
    }
}
