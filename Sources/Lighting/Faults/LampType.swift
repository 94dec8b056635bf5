import FoundationEssentials

/// Electrical characteristics of a lamp and its driver (after TALQ `LampType`), used to tell
/// whether the measured power matches the commanded level.
///
/// Expected power is linear between `minimumPowerWatts` at 1 % and `nominalPowerWatts` at
/// 100 %, and `standbyPowerWatts` when off — a simple model that LED drivers follow within a
/// few percent; widen `tolerancePercent` for drivers that do not.
public struct LampType: Hashable, Sendable, Codable {
    public var name: String
    /// Power drawn at 100 % (TALQ `wattage`), watts.
    public var nominalPowerWatts: Double
    /// Power drawn at the lowest dimming level, watts.
    public var minimumPowerWatts: Double
    /// Power drawn by the driver when the lamp is off, watts.
    public var standbyPowerWatts: Double
    /// Allowed deviation of measured from expected power, percent of expected.
    public var tolerancePercent: Double
    /// Seconds after switching on or changing level before power is judged.
    public var warmUpSeconds: Double
    /// Supply voltage range, volts.
    public var minimumVoltageVolts: Double
    public var maximumVoltageVolts: Double
    /// Lowest acceptable power factor (0–1) while lit.
    public var minimumPowerFactor: Double

    public init(name: String, nominalPowerWatts: Double, minimumPowerWatts: Double, standbyPowerWatts: Double = 1,
                tolerancePercent: Double = 15, warmUpSeconds: Double = 60, minimumVoltageVolts: Double = 207,
                maximumVoltageVolts: Double = 253, minimumPowerFactor: Double = 0.9) {
        self.name = name
        self.nominalPowerWatts = nominalPowerWatts
        self.minimumPowerWatts = minimumPowerWatts
        self.standbyPowerWatts = standbyPowerWatts
        self.tolerancePercent = tolerancePercent
        self.warmUpSeconds = warmUpSeconds
        self.minimumVoltageVolts = minimumVoltageVolts
        self.maximumVoltageVolts = maximumVoltageVolts
        self.minimumPowerFactor = minimumPowerFactor
    }

    /// Expected power at `levelPercent` (0–100), watts.
    public func expectedPowerWatts(levelPercent: Double) -> Double {
        guard levelPercent > 0 else { return standbyPowerWatts }
        let level = min(levelPercent, 100)
        return minimumPowerWatts + (nominalPowerWatts - minimumPowerWatts) * (level - 1) / 99
    }
}
