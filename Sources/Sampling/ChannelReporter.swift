/// Decides which polled values of one channel are reported (and so
/// spooled and sent), so a metered link does not carry a reading per poll
/// when nothing changes.
///
/// Pure logic: time is a parameter, in seconds on any steady scale.
public struct ChannelReporter: Sendable {
    /// How a channel reports.
    public enum Mode: Sendable, Hashable {
        /// Every polled value is reported.
        case everyPoll
        /// A value is reported when it differs from the last reported one by
        /// at least `deadband` (in the channel's unit), and at least every
        /// `heartbeatSeconds` even if it did not change, so upstream can tell
        /// "steady" from "dead".
        case onChange(deadband: Double, heartbeatSeconds: Double)
        /// Minimum, mean and maximum of the values polled in each window of
        /// `intervalSeconds`, reported when the window closes.
        case aggregate(intervalSeconds: Double)
    }

    /// What the reporter wants reported.
    public struct Report: Sendable, Hashable {
        /// Which statistic this value is.
        public enum Statistic: String, Sendable, Hashable, Codable {
            case sample, minimum, mean, maximum
        }

        public var statistic: Statistic
        public var value: Double
        /// The time the value stands for: the poll time for a sample, the
        /// window's start for aggregates.
        public var atSeconds: Double
        /// How many polled values went into it (1 for a sample).
        public var count: Int
    }

    public let mode: Mode
    private var lastReported: (value: Double, atSeconds: Double)?
    private var window: (startSeconds: Double, minimum: Double, maximum: Double, sum: Double, count: Int)?

    public init(mode: Mode) {
        self.mode = mode
    }

    /// Offers one polled value; returns what is to be reported now (often nothing).
    ///
    /// Non-finite values (NaN, infinity) are never aggregated or compared;
    /// they are reported as samples so the fault shows upstream.
    public mutating func offer(_ value: Double, atSeconds now: Double) -> [Report] {
        guard value.isFinite else {
            return [Report(statistic: .sample, value: value, atSeconds: now, count: 1)]
        }
        switch mode {
        case .everyPoll:
            return [sample(value, now)]
        case let .onChange(deadband, heartbeat):
            guard let last = lastReported else { return [sample(value, now)] }
            if abs(value - last.value) >= deadband || now - last.atSeconds >= heartbeat {
                return [sample(value, now)]
            }
            return []
        case let .aggregate(interval):
            let reports = close(before: now, intervalSeconds: interval)
            if var open = window {
                open.minimum = min(open.minimum, value)
                open.maximum = max(open.maximum, value)
                open.sum += value
                open.count += 1
                window = open
            } else {
                window = (Self.windowStart(now, interval), value, value, value, 1)
            }
            return reports
        }
    }

    /// Closes an aggregate window whose end has passed although no new value
    /// came (the device went quiet); returns its statistics. Call it on a timer.
    public mutating func flush(atSeconds now: Double) -> [Report] {
        guard case let .aggregate(interval) = mode else { return [] }
        return close(before: now, intervalSeconds: interval)
    }

    private mutating func sample(_ value: Double, _ now: Double) -> Report {
        lastReported = (value, now)
        return Report(statistic: .sample, value: value, atSeconds: now, count: 1)
    }

    private mutating func close(before now: Double, intervalSeconds interval: Double) -> [Report] {
        guard let open = window, now >= open.startSeconds + interval else { return [] }
        window = nil
        return [
            Report(statistic: .minimum, value: open.minimum, atSeconds: open.startSeconds, count: open.count),
            Report(statistic: .mean, value: open.sum / Double(open.count), atSeconds: open.startSeconds, count: open.count),
            Report(statistic: .maximum, value: open.maximum, atSeconds: open.startSeconds, count: open.count),
        ]
    }

    /// Windows are aligned to multiples of the interval (e.g. :00, :05, :10
    /// for five minutes), so every pole's windows line up upstream.
    static func windowStart(_ seconds: Double, _ interval: Double) -> Double {
        guard interval > 0 else { return seconds }
        return (seconds / interval).rounded(.down) * interval
    }
}
