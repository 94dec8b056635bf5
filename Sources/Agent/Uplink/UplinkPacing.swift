import FoundationEssentials
import Glibc
import Lighting

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

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The ceiling after `failures` consecutive failures (1 = the first failure).
    public func ceiling(afterFailures failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 40)
        let ceilingSeconds = min(initial.seconds * pow(2, Double(exponent)), maximum.seconds)
        return .nanoseconds(Int64(ceilingSeconds * 1e9))
    }

    /// Full jitter: a uniformly random wait in `[0, ceiling]` ("Exponential Backoff and Jitter",
    /// AWS architecture blog), so a city's poles coming back after an outage do not all retry at
    /// once. A `Retry-After` from the receiver is a floor.
    public func wait(afterFailures failures: Int, retryAfter: Duration?, using random: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(afterFailures: failures).seconds
        let jittered = Duration.nanoseconds(Int64(Double.random(in: 0...ceiling, using: &random) * 1e9))
        guard let retryAfter else { return jittered }
        return max(jittered, min(retryAfter, Self.maximumRetryAfter))
    }

    /// Parses a `Retry-After` value (RFC 9110 §10.2.3): delay seconds, or an HTTP date.
    /// Returns nil for anything else (the ordinary backoff then applies).
    public static func parseRetryAfter(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingWhitespace()
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        guard let date = HTTPDate.parse(text) else { return nil }
        return .nanoseconds(Int64(max(0, date.timeIntervalSince(now)) * 1e9))
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
        LocalDate(daysSinceEpoch: Int((date.timeIntervalSince1970 / 86_400).rounded(.down))).description
    }

    /// Adds `count` bytes sent or received at `date` (a new day starts from zero).
    public mutating func add(_ count: Int, at date: Date) {
        let today = Self.utcDay(of: date)
        if today != day { self = DailyByteBudget(day: today, bytes: 0) }
        bytes += count
    }

    /// Bytes used on the UTC day of `date`.
    public func used(at date: Date) -> Int {
        Self.utcDay(of: date) == day ? bytes : 0
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
        return .nanoseconds(Int64((next - seconds) * 1e9))
    }
}
