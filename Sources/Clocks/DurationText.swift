
/// Durations as installers write them in the configuration: a number and a
/// unit, `"250ms"`, `"10s"`, `"5m"`, `"1h"`, `"7d"` (decimals allowed: `"1.5s"`).
public enum DurationText {
    /// Parses `text`, or returns `nil` if it is not a non-negative duration.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.filter { !$0.isWhitespace }
        let units: [(suffix: String, seconds: Double)] = [
            ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400),
        ]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count)
            // "5ms" also ends in "s": only accept if what is left is a number.
            guard let value = Double(number), value.isFinite, value >= 0 else { continue }
            let nanoseconds = (value * unit.seconds * 1e9).rounded()
            guard nanoseconds < Double(Int64.max) else { return nil }
            return .nanoseconds(Int64(nanoseconds))
        }
        return nil
    }

    /// Formats a duration the way `parse` reads it, in the largest exact unit.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        for (suffix, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where milliseconds >= size && milliseconds % size == 0 {
            return "\(milliseconds / size)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}
