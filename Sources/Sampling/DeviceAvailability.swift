/// Tracks whether one polled device (a Modbus unit) answers, and when to try
/// it again, so a dead unit is retried with backoff instead of costing a
/// timeout on every poll, and so "went missing" and "came back" are reported
/// exactly once each.
///
/// Pure logic: time is a parameter, in seconds on any steady scale.
public struct DeviceAvailability: Sendable, Hashable {
    /// A change worth an event.
    public enum Transition: String, Sendable, Hashable, Codable {
        /// The device failed `failuresBeforeMissing` polls in a row.
        case wentMissing = "went-missing"
        /// A device that was missing answered again.
        case cameBack = "came-back"
    }

    /// Consecutive failures before the device counts as missing.
    public let failuresBeforeMissing: Int
    /// First retry delay once missing, in seconds; doubles on each failure.
    public let initialBackoffSeconds: Double
    /// Longest retry delay, in seconds.
    public let maximumBackoffSeconds: Double

    /// Failures since the last success.
    public private(set) var consecutiveFailures = 0
    /// Whether the device currently counts as missing.
    public private(set) var isMissing = false
    /// No poll before this time while missing, in seconds.
    public private(set) var nextAttemptSeconds: Double = -.infinity

    public init(failuresBeforeMissing: Int = 3, initialBackoffSeconds: Double = 5, maximumBackoffSeconds: Double = 300) {
        self.failuresBeforeMissing = max(1, failuresBeforeMissing)
        self.initialBackoffSeconds = max(0, initialBackoffSeconds)
        self.maximumBackoffSeconds = max(initialBackoffSeconds, maximumBackoffSeconds)
    }

    /// Whether a poll is due at `now` (always, unless the device is missing
    /// and its backoff has not run out).
    public func shouldPoll(atSeconds now: Double) -> Bool {
        !isMissing || now >= nextAttemptSeconds
    }

    /// Records a successful poll.
    public mutating func recordSuccess(atSeconds now: Double) -> Transition? {
        consecutiveFailures = 0
        nextAttemptSeconds = -.infinity
        guard isMissing else { return nil }
        isMissing = false
        return .cameBack
    }

    /// Records a failed poll (timeout, exception, CRC error).
    public mutating func recordFailure(atSeconds now: Double) -> Transition? {
        consecutiveFailures += 1
        guard consecutiveFailures >= failuresBeforeMissing else { return nil }
        let retries = consecutiveFailures - failuresBeforeMissing
        let delay = min(maximumBackoffSeconds, initialBackoffSeconds * pow2(retries))
        nextAttemptSeconds = now + delay
        guard !isMissing else { return nil }
        isMissing = true
        return .wentMissing
    }

    private func pow2(_ exponent: Int) -> Double {
        exponent >= 62 ? .infinity : Double(1 << exponent)
    }
}
