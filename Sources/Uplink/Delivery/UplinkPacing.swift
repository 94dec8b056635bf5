import FoundationEssentials
import Glibc
import Telemetry
import CivilTime
import Clocks
import TextFormatting

/// When to try again: exponential backoff with full jitter, and `Retry-After`.
///
/// Pure (the random source is passed in), so the rules are tested without waiting.
public struct UplinkBackoff: Sendable {
    /// First ceiling; doubles per consecutive failure.
    public var initial: Duration
    /// Highest ceiling.
    public var maximum: Duration
    /// Longest `Retry-After` honoured: a receiver asking for more gets this.
    public static let maximumRetryAfter: Duration = .seconds(3600)
    /// Longest backoff ceiling, whatever the configuration says: one day.
    public static let longestCeiling: Duration = .seconds(86_400)

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The ceiling after `failures` consecutive failures (1 = the first failure), within
    /// `0…longestCeiling` whatever the configuration holds.
    public func ceiling(afterFailures failures: Int) -> Duration {
        let exponent = min(max(failures, 1) - 1, 40)
        let seconds = min(initial.seconds * pow(2, Double(exponent)), maximum.seconds)
        return CheckedTime.duration(seconds: seconds, clampedTo: .zero...Self.longestCeiling)
    }

    /// Full jitter: a uniformly random wait in `[0, ceiling]` ("Exponential Backoff and Jitter",
    /// AWS architecture blog), so a city's poles coming back after an outage do not all retry at
    /// once. A `Retry-After` from the receiver is a floor, itself capped at `maximumRetryAfter`.
    public func wait(afterFailures failures: Int, retryAfter: Duration?, using random: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(afterFailures: failures)
        let jittered = CheckedTime.duration(
            seconds: Double.random(in: 0...ceiling.seconds, using: &random), clampedTo: .zero...ceiling)
        guard let retryAfter else { return jittered }
        return max(jittered, min(max(retryAfter, .zero), Self.maximumRetryAfter))
    }

    /// Parses a `Retry-After` value (RFC 9110 §10.2.3): delay seconds (digits only), or an HTTP
    /// date. The result is within `0…maximumRetryAfter`: a delay or a date further away (year 9999,
    /// 10^30 seconds) is the cap, a date in the past is zero. Nil for anything else (the ordinary
    /// backoff then applies).
    public static func parseRetryAfter(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingWhitespace()
        let range = Duration.zero...maximumRetryAfter
        if !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            // Digits only: a number too long for an Int is still a (very long) delay.
            return Int(text).map { CheckedTime.duration(seconds: Double($0), clampedTo: range) } ?? maximumRetryAfter
        }
        guard let date = HTTPDate.parse(text) else { return nil }
        return CheckedTime.duration(seconds: date.timeIntervalSince(now), clampedTo: range)
    }
}

/// The bytes-per-UTC-day cap of a metered link (`max_bytes_per_day`).
public struct DailyByteBudget: Codable, Sendable, Equatable {
    /// The UTC day the count belongs to, `YYYY-MM-DD`.
    public var day: String
    /// Bytes on the wire that day so far.
    public var bytes: Int

    public init(day: String = "", bytes: Int = 0) {
        self.day = day
        self.bytes = bytes
    }

    /// The UTC day of `date`, `YYYY-MM-DD`.
    public static func utcDay(of date: Date) -> String {
        // The date comes from the clock: a day number outside ±10^9 days (NaN too) is not a day.
        let days = (date.timeIntervalSince1970 / 86_400).rounded(.down)
        guard days.isFinite, abs(days) < 1e9 else { return "invalid" }
        return LocalDate(daysSinceEpoch: Int(days)).description
    }

    /// Adds `count` bytes sent or received at `date` (a new day starts from zero; the count
    /// saturates instead of overflowing, and a negative count adds nothing).
    public mutating func add(_ count: Int, at date: Date) {
        let today = Self.utcDay(of: date)
        if today != day { self = DailyByteBudget(day: today, bytes: 0) }
        let (sum, overflow) = max(bytes, 0).addingReportingOverflow(max(count, 0))
        bytes = overflow ? .max : sum
    }

    /// Bytes used on the UTC day of `date`.
    public func used(at date: Date) -> Int {
        Self.utcDay(of: date) == day ? max(bytes, 0) : 0
    }

    /// Whether the cap is reached on the day of `date` (never without a cap).
    public func isExhausted(cap: Int?, at date: Date) -> Bool {
        guard let cap else { return false }
        return used(at: date) >= cap
    }

    /// Time from `date` to the next UTC midnight, when the count starts again.
    public static func untilNextDay(from date: Date) -> Duration {
        let seconds = date.timeIntervalSince1970
        let next = (floor(seconds / 86_400) + 1) * 86_400
        return CheckedTime.duration(seconds: next - seconds, clampedTo: .zero...(.seconds(86_400)))
    }
}
