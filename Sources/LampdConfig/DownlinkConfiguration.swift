import FoundationEssentials

/// `[downlink]`: the city's signed desired state (docs/downlink.md): where the pinned city keys
/// are, the longest city override this board accepts, and how often to ask for a new document.
///
/// Defaults apply without the section: keys in `/etc/lampd/city-keys`, overrides up to 12 h.
public struct DownlinkConfiguration: Sendable, Hashable {
    /// Directory with `scheduler/` and `operator/` public keys (absolute, or relative to the configuration file).
    public var keysDirectory: String
    /// Longest city override accepted (`max_override_duration`, 1 min … 7 d, default 12 h).
    public var maxOverrideDuration: Duration
    /// How often the board asks for a newer document (`poll_interval`, 1 min … 7 d, default 3 h: 8 "nothing new" polls a day, about 1.4 kB).
    public var pollInterval: Duration
    /// How long the receiver may hold a pull while nothing is newer (`long_poll`, 0 = off … 1 h,
    /// default off): with it on, a published document reaches the lamp within about a second,
    /// at the price of one "nothing new" answer per `long_poll` (docs/downlink.md, "Long poll").
    public var longPoll: Duration = .zero

    public static let maxOverrideRange: ClosedRange<Duration> = .seconds(60)...(.seconds(7 * 86_400))
    public static let pollIntervalRange: ClosedRange<Duration> = .seconds(60)...(.seconds(7 * 86_400))
    public static let longPollRange: ClosedRange<Duration> = .zero...(.seconds(3_600))

    public init(keysDirectory: String = "/etc/lampd/city-keys", maxOverrideDuration: Duration = .seconds(12 * 3600),
                pollInterval: Duration = .seconds(3 * 3600)) {
        self.keysDirectory = keysDirectory
        self.maxOverrideDuration = maxOverrideDuration
        self.pollInterval = pollInterval
    }

    /// `max_override_duration` in whole seconds.
    public var maxOverrideSeconds: Int64 { maxOverrideDuration.components.seconds }

    static func read(_ table: TOMLReader, configurationDirectory: String) -> DownlinkConfiguration {
        var configuration = DownlinkConfiguration()
        if let directory = table.string("keys_dir") {
            configuration.keysDirectory = ConfigurationPath.resolve(directory, relativeTo: configurationDirectory)
        }
        if let maximum = table.duration("max_override_duration", in: maxOverrideRange) {
            configuration.maxOverrideDuration = maximum
        }
        if let poll = table.duration("poll_interval", in: pollIntervalRange) {
            configuration.pollInterval = poll
        }
        if let longPoll = table.duration("long_poll", in: longPollRange) {
            // Whole seconds: the wire carries seconds.
            configuration.longPoll = .seconds(longPoll.components.seconds)
        }
        table.rejectUnknownKeys()
        return configuration
    }
}
