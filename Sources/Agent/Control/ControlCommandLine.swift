import FoundationEssentials

/// A command-line value that does not fit (exit 2 in lampctl), with the message to print.
public struct CommandLineValueError: Error, CustomStringConvertible, Hashable, Sendable {
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
    public static func eventsSince(_ text: String) throws(CommandLineValueError) -> [String: JSONValue] {
        if let serial = Int64(text) {
            guard ControlArgumentLimits.sequence.contains(serial) else {
                throw CommandLineValueError(message: "--since \(text): an event number is 0 to \(ControlArgumentLimits.sequence.upperBound)")
            }
            return ["since": .number(Double(serial))]
        }
        let range = ControlArgumentLimits.eventAgeSeconds
        guard let duration = DurationText.parse(text), range.contains(duration.seconds) else {
            throw CommandLineValueError(message: "--since must be an event number or an age such as 30s, 10m, 2h, 1d, at most \(describe(range.upperBound)); \(text) is not")
        }
        return ["sinceSeconds": .number(duration.seconds)]
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
