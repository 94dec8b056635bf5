import FoundationEssentials
import Lighting

/// One line of `lampctl selftest`: a named check and its outcome, with what was
/// found in words a technician acts on.
public struct SelfTestCheck: Sendable, Hashable, Codable {
    /// How a check came out.
    public enum Outcome: String, Sendable, Hashable, Codable {
        case pass
        case fail
        /// Could not be checked here (not configured, not permitted, not yet known).
        case skip
    }

    /// Stable name, e.g. `clock`, `modbus.meter`, `device-key`.
    public var name: String
    public var outcome: Outcome
    /// What was found, e.g. "unit 1 on bus rs485 answered 2 s ago".
    public var detail: String

    public init(_ name: String, _ outcome: Outcome, _ detail: String) {
        self.name = name
        self.outcome = outcome
        self.detail = detail
    }

    public static func pass(_ name: String, _ detail: String) -> SelfTestCheck { SelfTestCheck(name, .pass, detail) }
    public static func fail(_ name: String, _ detail: String) -> SelfTestCheck { SelfTestCheck(name, .fail, detail) }
    public static func skip(_ name: String, _ detail: String) -> SelfTestCheck { SelfTestCheck(name, .skip, detail) }
}

/// Plausible ranges of a mains meter's readings (`meter` check).
public enum MeterPlausibility {
    /// Mains voltage, volts (230 V ± ~20 %).
    public static let voltageVolts = 180.0...260.0
    /// Mains frequency, hertz.
    public static let frequencyHertz = 45.0...65.0

    /// What is wrong with a reading of `value` in SenML `unit` (`V`, `Hz`, `kWh`, `Wh`), or nil
    /// if plausible or not a meter quantity.
    public static func problem(channel: String, value: Double, unit: String) -> String? {
        func format(_ v: Double) -> String { v.rounded() == v ? String(Int(v)) : String(printf: "%.1f", v) }
        switch unit {
        case "V" where !voltageVolts.contains(value):
            return "\(channel) \(format(value)) V outside \(format(voltageVolts.lowerBound))–\(format(voltageVolts.upperBound)) V"
        case "Hz" where !frequencyHertz.contains(value):
            return "\(channel) \(format(value)) Hz outside \(format(frequencyHertz.lowerBound))–\(format(frequencyHertz.upperBound)) Hz"
        case "kWh" where value < 0 || !value.isFinite, "Wh" where value < 0 || !value.isFinite:
            return "\(channel) \(format(value)) \(unit) is negative"
        default:
            return nil
        }
    }
}
