import FoundationEssentials

/// Accumulates energy from a meter's cumulative register, surviving wrap-around and resets.
///
/// Meters count up to a rollover value and start again from 0 (wrap), or restart from 0
/// after a power cut or replacement (reset). A drop in the reading is a wrap when the last
/// reading was in the top 10 % of `rolloverWattHours` and the new one in the bottom 10 %;
/// otherwise a reset, counted from 0 (the energy before the reset was already counted).
public struct EnergyCounter: Hashable, Sendable, Codable {
    /// Energy counted so far, watt-hours.
    public private(set) var totalWattHours: Double = 0
    /// Last raw meter reading, watt-hours.
    public private(set) var lastReadingWattHours: Double?
    /// Where the meter's register wraps to 0, watt-hours; nil if unknown.
    public var rolloverWattHours: Double?
    /// How many resets were seen (reported as an event by the caller).
    public private(set) var resets = 0

    public init(rolloverWattHours: Double? = nil) {
        self.rolloverWattHours = rolloverWattHours
    }

    /// What happened to the register between two readings.
    public enum Step: Hashable, Sendable { case normal, wrapped, reset, first }

    /// Adds a reading; returns the energy added (watt-hours) and what happened.
    @discardableResult
    public mutating func add(readingWattHours reading: Double) -> (addedWattHours: Double, step: Step) {
        guard reading.isFinite, reading >= 0 else { return (0, .normal) }
        defer { lastReadingWattHours = reading }
        guard let last = lastReadingWattHours else { return (0, .first) }
        if reading >= last {
            totalWattHours += reading - last
            return (reading - last, .normal)
        }
        if let rollover = rolloverWattHours, last >= rollover * 0.9, reading <= rollover * 0.1 {
            let added = rollover - last + reading
            totalWattHours += added
            return (added, .wrapped)
        }
        resets += 1
        totalWattHours += reading
        return (reading, .reset)
    }
}

/// Counts the hours a lamp was lit (level above 0 %), for maintenance.
public struct BurnHourCounter: Hashable, Sendable, Codable {
    public private(set) var litSeconds: Double = 0

    public init() {}

    /// Adds the interval [from, to) during which the lamp was at `levelPercent`.
    public mutating func add(levelPercent: Double, from: Date, to: Date) {
        guard levelPercent > 0, to > from else { return }
        litSeconds += to.timeIntervalSince(from)
    }

    public var hours: Double { litSeconds / 3600 }
}
