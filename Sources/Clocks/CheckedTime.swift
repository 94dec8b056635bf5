
/// Checked conversions of times that come from outside (an HTTP header, a CBOR or SenML field, a
/// file, the kernel's clock) into nanoseconds and `Duration`s.
///
/// `Int64(seconds * 1e9)` traps when the product is NaN, infinite or beyond ±9.2e18 (about
/// ±292 years), and `seconds * 1_000_000_000` traps beyond ±9.2e9 s: an attacker or a bad clock
/// can reach both. Every such conversion goes through here instead and gets `nil` (the caller
/// says what was wrong) or a documented clamp, never a trap.
public enum CheckedTime {
    /// Nanoseconds in one second.
    public static let nanosecondsPerSecond: Int64 = 1_000_000_000

    /// `seconds` in whole nanoseconds (rounded to the nearest); nil for NaN, ±∞ or a value
    /// outside the `Int64` range of nanoseconds.
    public static func nanoseconds(fromSeconds seconds: Double) -> Int64? {
        guard seconds.isFinite else { return nil }
        return Int64(exactly: (seconds * 1e9).rounded())
    }

    /// Whole `seconds` in nanoseconds; nil when the product overflows `Int64`.
    public static func nanoseconds(fromWholeSeconds seconds: Int64) -> Int64? {
        let (product, overflow) = seconds.multipliedReportingOverflow(by: nanosecondsPerSecond)
        return overflow ? nil : product
    }

    /// `seconds` plus `nanoseconds` (a `timespec`) in nanoseconds; nil on overflow.
    public static func nanoseconds(seconds: Int64, plus nanoseconds: Int64) -> Int64? {
        guard let whole = self.nanoseconds(fromWholeSeconds: seconds) else { return nil }
        return sum(whole, nanoseconds)
    }

    /// `a − b` for nanosecond timestamps, saturating instead of overflowing (a bad clock, a damaged file).
    public static func difference(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.subtractingReportingOverflow(b)
        guard overflow else { return result }
        return a < b ? .min : .max
    }

    /// `a + b`, nil on overflow.
    public static func sum(_ a: Int64, _ b: Int64) -> Int64? {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : result
    }

    /// `seconds` as a `Duration`; nil for NaN, ±∞ or more than `Int64` nanoseconds (±292 years).
    public static func duration(seconds: Double) -> Duration? {
        nanoseconds(fromSeconds: seconds).map { .nanoseconds($0) }
    }

    /// `seconds` as a `Duration` within `range`: below it (−∞ too) gives the lower bound, above
    /// it (+∞ too) the upper bound, NaN the lower bound.
    public static func duration(seconds: Double, clampedTo range: ClosedRange<Duration>) -> Duration {
        guard !seconds.isNaN else { return range.lowerBound }
        let lower = Double(range.lowerBound.components.seconds), upper = Double(range.upperBound.components.seconds) + 1
        if seconds <= lower { return range.lowerBound }
        if seconds >= upper { return range.upperBound }
        // Within ±(a Duration's whole seconds + 1), so the conversion cannot fail; clamp again for
        // the fraction.
        let duration = self.duration(seconds: seconds) ?? (seconds > 0 ? range.upperBound : range.lowerBound)
        return min(max(duration, range.lowerBound), range.upperBound)
    }
}
