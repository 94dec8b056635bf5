import FoundationEssentials
import Telemetry
import Clocks

/// Checked conversions of numbers that come from outside — a client's JSON, a command-line
/// argument, a clock — into integers and durations (STYLE.md rule 15d), with the caller's range;
/// time units go through `CheckedTime` (Telemetry), the one conversion of seconds to nanoseconds.
///
/// Each returns nil for what does not fit (NaN, infinity, a fraction where a whole number is
/// needed, a value outside the caller's range): the caller turns that into an error a
/// technician can act on. None of them can trap.
public enum CheckedNumber {
    /// The largest integer a JSON number (a Double) holds exactly: 2^53 − 1.
    public static let largestExactInteger: Int64 = ControlProtocol.largestExactInteger

    /// `value` as a whole number within `range`, or nil.
    public static func integer(_ value: Double, in range: ClosedRange<Int64>) -> Int64? {
        guard let whole = Int64(exactly: value), range.contains(whole) else { return nil }
        return whole
    }

    /// `seconds` as nanoseconds if it is finite, within `range` and fits in an Int64; else nil.
    public static func nanoseconds(seconds: Double, in range: ClosedRange<Double>) -> Int64? {
        guard range.contains(seconds) else { return nil }
        return CheckedTime.nanoseconds(fromSeconds: seconds)
    }

    /// `seconds` as a `Duration` if it is finite, within `range` and fits; else nil.
    public static func duration(seconds: Double, in range: ClosedRange<Double>) -> Duration? {
        nanoseconds(seconds: seconds, in: range).map { .nanoseconds($0) }
    }

    /// `value` rounded to a whole number and clamped to `Int`'s range (NaN → 0): for counts and
    /// ages shown to a technician, where a saturated number is better than none.
    public static func clampedInteger(_ value: Double) -> Int {
        guard !value.isNaN else { return 0 }
        let rounded = value.rounded()
        // Double(Int.max) is 2^63, one more than Int.max.
        if rounded >= Double(Int.max) { return .max }
        if rounded <= Double(Int.min) { return .min }
        return Int(rounded)
    }

    /// `a − b` for nanosecond timestamps, saturating instead of overflowing (a bad clock).
    public static func difference(_ a: Int64, _ b: Int64) -> Int64 {
        CheckedTime.difference(a, b)
    }

    /// A number as a technician reads it in an error message: `42`, `1e+300`, `-0.5`.
    public static func text(_ value: Double) -> String {
        if let whole = Int64(exactly: value), whole.magnitude <= largestExactInteger.magnitude { return String(whole) }
        return "\(value)"
    }
}
