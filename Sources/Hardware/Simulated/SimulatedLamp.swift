/// A street lamp on the simulated board: an LED driver whose power draw
/// follows its dim level, with a warm-up and injectable faults.
///
/// Pure value type: time is a parameter (`secondsSinceStart`), so scenarios
/// and tests step it without sleeping.
public struct SimulatedLamp: Sendable, Hashable {
    /// Faults a scenario can inject, as a technician would meet them.
    public enum Fault: String, Sendable, Hashable, Codable, CaseIterable {
        /// The LED module is dead: no power drawn even when switched on.
        case ledFailure = "led-failure"
        /// The relay is welded: the lamp draws power even when switched off.
        case stuckOn = "stuck-on"
        /// The driver ignores the dim input: always draws full power when on.
        case dimmingIgnored = "dimming-ignored"
    }

    /// Rated power at 100 %, in watts.
    public var nominalPowerWatts: Double
    /// Power at the lowest dim level the driver accepts, in watts.
    public var minimumPowerWatts: Double
    /// Driver standby draw while the relay is closed but output is 0 %, in watts.
    public var standbyPowerWatts: Double
    /// Seconds from switch-on until the draw reaches its steady value.
    public var warmUpSeconds: Double

    /// Relay closed (true) or open.
    public private(set) var relayClosed = false
    /// Commanded dim level, percent 0–100.
    public private(set) var levelPercent: Double = 0
    /// When the relay last closed, in scenario seconds.
    public private(set) var switchedOnAtSeconds: Double?
    /// Injected faults.
    public var faults: Set<Fault> = []

    public init(
        nominalPowerWatts: Double = 60,
        minimumPowerWatts: Double = 6,
        standbyPowerWatts: Double = 0.5,
        warmUpSeconds: Double = 2
    ) {
        self.nominalPowerWatts = nominalPowerWatts
        self.minimumPowerWatts = minimumPowerWatts
        self.standbyPowerWatts = standbyPowerWatts
        self.warmUpSeconds = warmUpSeconds
    }

    /// Closes or opens the relay at `secondsSinceStart`.
    public mutating func setRelay(_ closed: Bool, atSeconds secondsSinceStart: Double) {
        if closed && !relayClosed { switchedOnAtSeconds = secondsSinceStart }
        if !closed { switchedOnAtSeconds = nil }
        relayClosed = closed
    }

    /// Sets the dim level, percent (clamped to 0–100).
    public mutating func setLevel(percent: Double) {
        levelPercent = min(100, max(0, percent.isFinite ? percent : 0))
    }

    /// Electrical power drawn at `secondsSinceStart`, in watts.
    public func powerWatts(atSeconds secondsSinceStart: Double) -> Double {
        if faults.contains(.stuckOn) && !relayClosed { return nominalPowerWatts }
        guard relayClosed else { return 0 }
        if faults.contains(.ledFailure) { return standbyPowerWatts }
        let level = faults.contains(.dimmingIgnored) ? 100 : levelPercent
        guard level > 0 else { return standbyPowerWatts }
        let steady = minimumPowerWatts + (nominalPowerWatts - minimumPowerWatts) * level / 100
        guard let on = switchedOnAtSeconds, warmUpSeconds > 0 else { return steady }
        // LED drivers ramp up over their warm-up; model it as linear from 30 %.
        let progress = min(1, max(0, (secondsSinceStart - on) / warmUpSeconds))
        return steady * (0.3 + 0.7 * progress)
    }
}
