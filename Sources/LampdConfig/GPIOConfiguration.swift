import Telemetry

/// One digital input from `[[gpio.inputs]]`: a contact in the traffic-light
/// cabinet or a photocell.
public struct GPIOInputConfiguration: Sendable, Hashable {
    /// Bias names as written in the file.
    public enum Bias: String, Sendable, CaseIterable {
        case asIs = "as-is", disabled, pullUp = "pull-up", pullDown = "pull-down"
    }

    /// Channel name, e.g. `cabinet.door`.
    public var channel: String
    /// Chip name, path, number or label; `simulated` on the simulated board.
    public var chip: String
    /// Line name (as the board's device tree names it) or offset.
    public var line: String
    public var activeLow: Bool
    public var bias: Bias
    /// How long a new state must hold before it counts.
    public var debounce: Duration
    /// Whether each debounced change becomes an event (and not only a reading).
    public var changesAreEvents: Bool
    /// Event text for `true` and `false`, e.g. "door opened" / "door closed".
    public var trueText: String
    public var falseText: String
    /// Event kind and severity for each state; kinds default to
    /// `<channel>.on` / `<channel>.off`, severities to info.
    public var trueEvent: EventSpec
    public var falseEvent: EventSpec
    /// How often the line is read when it has no interrupt (the kernel refuses edge events
    /// on it), `poll_interval`.
    public var pollInterval: Duration = GPIOInputConfiguration.defaultPollInterval

    /// `poll_interval` when the file does not say.
    public static let defaultPollInterval = Duration.milliseconds(250)
    /// The range `poll_interval` must be in.
    public static let pollIntervalRange = Duration.milliseconds(10)...Duration.seconds(10)

    /// What an event for one state of an input is called and how serious it is.
    public struct EventSpec: Sendable, Hashable {
        public var kind: String
        public var severity: EventSeverity

        public init(kind: String, severity: EventSeverity) {
            self.kind = kind
            self.severity = severity
        }
    }

    static func read(_ table: TOMLReader) -> GPIOInputConfiguration? {
        let channel = table.string("channel", required: true)
        if let channel, !DeviceIdentifier.isValid(channel) {
            table.report("channel", "\"\(channel)\" is not a valid channel name; use letters, digits, '-', '_' or '.'")
        }
        let chip = table.string("chip") ?? "gpiochip0"
        // A line is a name or an offset; accept both spellings.
        var line = table.string("line")
        if line == nil, let offset = table.int("offset", in: 0...1023) { line = String(offset) }
        if line == nil { table.report("line", "missing; write the line's name (line = \"GPIO17\") or its offset (offset = 17)") }
        let activeLow = table.bool("active_low") ?? false
        let bias: Bias = table.choice("bias") ?? .asIs
        let debounce = table.duration("debounce", in: .zero...(.seconds(60))) ?? .milliseconds(50)
        let events = table.bool("events") ?? true
        let trueText = table.string("true_text") ?? "\(channel ?? "input") on"
        let falseText = table.string("false_text") ?? "\(channel ?? "input") off"
        let pollInterval = table.duration("poll_interval", in: pollIntervalRange) ?? defaultPollInterval
        let severities = "\"info\", \"warning\", \"alarm\""
        let trueSeverity = table.named("true_severity", parse: EventSeverity.init(name:), allowed: severities) ?? .info
        let falseSeverity = table.named("false_severity", parse: EventSeverity.init(name:), allowed: severities) ?? .info
        table.rejectUnknownKeys()
        guard let channel, let line else { return nil }
        return GPIOInputConfiguration(
            channel: channel, chip: chip, line: line, activeLow: activeLow, bias: bias, debounce: debounce,
            changesAreEvents: events, trueText: trueText, falseText: falseText,
            trueEvent: EventSpec(kind: "\(channel).on", severity: trueSeverity),
            falseEvent: EventSpec(kind: "\(channel).off", severity: falseSeverity),
            pollInterval: pollInterval)
    }
}

extension EventSeverity {
    /// Parses `info`, `warning` or `alarm`.
    init?(name: String) {
        switch name.lowercased() {
        case "info": self = .info
        case "warning": self = .warning
        case "alarm": self = .alarm
        default: return nil
        }
    }
}
