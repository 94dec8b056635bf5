import SystemSupport
import ControlProtocol
import FoundationEssentials
import Telemetry
import Clocks

/// A command-line value that does not fit (exit 2 in lampctl), with the message to print.
public struct CommandLineValueError: ActionableError, Hashable {
    /// Stable code (`ActionableError`).
    public var code: String { "command-line.invalid-value" }

    public var message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}

/// lampctl's command-line forms of control arguments (`--since 10m`, `--for 20m`), checked
/// against the limits lampd applies (`ControlArgumentLimits`), so a typo such as
/// `--since 107000d` is a usage error with a message — not a request lampd must refuse.
public enum ControlCommandLine {
    /// `lampctl events --since`: an event number (`42`) or an age (`30s`, `10m`, `2h`, `1d`),
    /// as the `events` command's `since` or `sinceSeconds` argument.
    public static func eventsSince(_ text: String) throws(CommandLineValueError) -> EventsRequest {
        if let serial = Int64(text) {
            guard ControlArgumentLimits.sequence.contains(serial) else {
                throw CommandLineValueError(message: "--since \(text): an event number is 0 to \(ControlArgumentLimits.sequence.upperBound)")
            }
            return EventsRequest(since: serial)
        }
        let range = ControlArgumentLimits.eventAgeSeconds
        guard let duration = DurationText.parse(text), range.contains(duration.seconds) else {
            throw CommandLineValueError(message: "--since must be an event number or an age such as 30s, 10m, 2h, 1d, at most \(describe(range.upperBound)); \(text) is not")
        }
        return EventsRequest(sinceSeconds: duration.seconds)
    }

    /// `lampctl spool export --since`: a bare number is always a sequence number (`250`); an age
    /// (`10m`, `2h`) or a UTC time (`2026-12-06T03:00:00Z`) asks for the records taken since then.
    public static func spoolExportSince(_ text: String) throws(CommandLineValueError) -> SpoolExportRequest {
        if let sequence = Int64(text) {
            guard ControlArgumentLimits.sequence.contains(sequence) else {
                throw CommandLineValueError(message: "--since \(text): a sequence number is 0 to \(ControlArgumentLimits.sequence.upperBound)")
            }
            return SpoolExportRequest(since: sequence)
        }
        if let age = DurationText.parse(text), ControlArgumentLimits.eventAgeSeconds.contains(age.seconds) {
            return SpoolExportRequest(sinceSeconds: age.seconds)
        }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()),
           ControlArgumentLimits.utcSeconds.contains(date.timeIntervalSince1970) {
            return SpoolExportRequest(sinceTime: date.formatted(Date.ISO8601FormatStyle()))
        }
        throw CommandLineValueError(message: "--since must be a sequence number, an age such as 10m or a time such as 2026-12-06T03:00:00Z; \(text) is not")
    }

    /// A duration option (`--for 20m`, `--ramp 5s`) in seconds, within `range`; `example` says
    /// what to write instead.
    public static func seconds(_ text: String, option: String, in range: ClosedRange<Double>, example: String) throws(CommandLineValueError) -> Double {
        let limits = "\(describe(range.lowerBound)) to \(describe(range.upperBound))"
        // DurationText refuses what does not fit in nanoseconds (107000d): out of range too.
        guard let duration = DurationText.parse(text) else {
            throw CommandLineValueError(message: "\(option) \(text): write \(example), \(limits)")
        }
        guard range.contains(duration.seconds) else {
            throw CommandLineValueError(message: "\(option) \(text): must be \(limits)")
        }
        return duration.seconds
    }

    /// `90` → `1m30s`-style text of the largest exact unit (`DurationText.format`).
    private static func describe(_ seconds: Double) -> String {
        guard seconds > 0, let duration = CheckedNumber.duration(seconds: seconds, in: 0...seconds) else { return "0s" }
        return DurationText.format(duration)
    }
}
