import FoundationEssentials
import Lighting
import TextFormatting

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
