import Downlink
import Synchronization

/// The settings the city's scheduler document may change while lampd runs (docs/downlink.md,
/// "Configuration"): the uplink's batch interval and daily byte cap, and the polling period of
/// each Modbus device and of the cabinet's contact module. What the document leaves out, or a
/// board without a scheduler document, keeps the value of lampd.toml.
///
/// The downlink applier sets it (after a document was verified and stored, and at start from the
/// stored document); the uplink reads it before each decision and every poller before each wait,
/// so a new value takes effect at the uplink's next decision and at each poller's next poll.
public final class RemoteSettings: Sendable {
    /// The names a document's `samplingPeriodSeconds` may use: this board's polled sources
    /// (`[[modbus.device]]` names, and `traffic_box` for `[modbus.traffic_box]`).
    public let pollableNames: Set<String>
    private let current = Mutex<RemoteConfiguration?>(nil)
    private let onChange: @Sendable () -> Void

    /// `onChange` runs after every `set` (lampd wakes the uplink so a shorter interval counts at once).
    public init(pollableNames: Set<String>, onChange: @escaping @Sendable () -> Void = {}) {
        self.pollableNames = pollableNames
        self.onChange = onChange
    }

    /// The configuration now in effect (nil = lampd.toml's throughout).
    public var configuration: RemoteConfiguration? { current.withLock { $0 } }

    /// Puts `configuration` in effect (nil: back to lampd.toml's values).
    public func set(_ configuration: RemoteConfiguration?) {
        current.withLock { $0 = configuration.flatMap { $0.isEmpty ? nil : $0 } }
        onChange()
    }

    /// Why this board cannot apply `configuration`, or nil when it can: every name of
    /// `samplingPeriodSeconds` must be a source this board polls (a document is applied whole or not at all).
    public func problem(with configuration: RemoteConfiguration) -> String? {
        let unknown = (configuration.samplingPeriodSeconds ?? [:]).keys.filter { !pollableNames.contains($0) }.sorted()
        guard !unknown.isEmpty else { return nil }
        let known = pollableNames.isEmpty ? "none" : pollableNames.sorted().joined(separator: ", ")
        return "samplingPeriodSeconds names \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")), which this board does not poll (it polls: \(known))"
    }

    /// The city's batch interval, or nil for lampd.toml's.
    public var batchInterval: Duration? {
        current.withLock { $0?.batchIntervalSeconds.map { Duration.seconds($0) } }
    }

    /// The city's daily byte cap, or nil for lampd.toml's.
    public var maxBytesPerDay: Int? { current.withLock { $0?.maxBytesPerDay } }

    /// The city's polling period for the source `name`, or nil for lampd.toml's.
    public func samplingPeriod(_ name: String) -> Duration? {
        current.withLock { $0?.samplingPeriodSeconds?[name].map { Duration.seconds($0) } }
    }
}
