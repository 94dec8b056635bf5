import ControlProtocol
import FoundationEssentials

/// A command's arguments (a JSON object) read through checked conversions: every control
/// argument that becomes an integer or a `Duration` goes through one of these.
extension JSONValue {
    /// The whole-number argument `key` (a count, a limit, a sequence number): nil when absent
    /// or null; a `bad-arguments` error naming `command` when it is not a whole number in `range`.
    public func integer(_ key: String, in range: ClosedRange<Int64>, command: String) throws(ControlError) -> Int64? {
        guard let value = try number(key, command: command) else { return nil }
        guard let whole = CheckedNumber.integer(value, in: range) else {
            throw .badArguments(command, "argument \"\(key)\" must be a whole number from \(range.lowerBound) to \(range.upperBound); \(CheckedNumber.text(value)) is not")
        }
        return whole
    }

    /// The seconds argument `key` as a `Duration`: nil when absent or null; a `bad-arguments`
    /// error naming `command` when it is not a number of seconds in `range`.
    public func seconds(_ key: String, in range: ClosedRange<Double>, command: String) throws(ControlError) -> Duration? {
        guard let value = try number(key, command: command) else { return nil }
        guard let duration = CheckedNumber.duration(seconds: value, in: range) else {
            throw .badArguments(command, "argument \"\(key)\" must be a number of seconds from \(CheckedNumber.text(range.lowerBound)) to \(CheckedNumber.text(range.upperBound)); \(CheckedNumber.text(value)) is not")
        }
        return duration
    }

    /// The text argument `key`, escaped and cut to `maximumCharacters` (`ClientText.label`):
    /// nil when absent or null; `bad-arguments` when it is not a string.
    public func text(_ key: String, maximumCharacters: Int, command: String) throws(ControlError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let text)?: return ClientText.label(text, maximumCharacters: maximumCharacters)
        default: throw .badArguments(command, "argument \"\(key)\" has the wrong type: expected a string")
        }
    }

    private func number(_ key: String, command: String) throws(ControlError) -> Double? {
        switch self[key] {
        case nil, .null?: return nil
        case .number(let value)?: return value
        default: throw .badArguments(command, "argument \"\(key)\" has the wrong type: expected a number")
        }
    }
}
