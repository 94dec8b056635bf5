import FoundationEssentials
import TextFormatting

/// One meter reading at the lamp (from the Modbus energy meter or the driver).
public struct LampMeasurement: Hashable, Sendable, Codable {
    public var powerWatts: Double
    public var voltageVolts: Double?
    /// 0–1.
    public var powerFactor: Double?

    public init(powerWatts: Double, voltageVolts: Double? = nil, powerFactor: Double? = nil) {
        self.powerWatts = powerWatts
        self.voltageVolts = voltageVolts
        self.powerFactor = powerFactor
    }
}

/// The lamp faults lampd detects from power readings.
public enum LampFault: String, Hashable, Sendable, Codable, CaseIterable {
    /// Commanded on, but (almost) no power drawn: lamp or driver dead, fuse blown.
    case lampFailure
    /// Commanded off, but drawing power: stuck relay, lamp burning by day.
    case dayBurner
    /// Lit, but power does not match the commanded level: driver ignores dimming.
    case dimmingFailure
    /// Supply voltage outside the lamp type's range.
    case voltageOutOfRange
    /// Lit with a power factor below the lamp type's minimum.
    case lowPowerFactor
    /// Switches itself off and on while commanded on: lamp failure raised 3 times in 30 min
    /// (`CyclingWatch`): an end-of-life lamp or a failing driver.
    case cycling
}

/// A fault starting or ending.
public struct FaultEvent: Hashable, Sendable, Codable {
    /// Raised = the fault started; cleared = it ended.
    public enum Transition: String, Hashable, Sendable, Codable { case raised, cleared }
    public var fault: LampFault
    public var transition: Transition
    public var at: Date
    /// What was seen, e.g. "commanded 100 %, expected 60.0 W ± 15 %, measured 2.0 W".
    public var detail: String
}

/// Compares measured with expected power and raises each fault once and clears it once.
///
/// Power-based checks (lamp failure, day burner, dimming failure, power factor) are suppressed
/// for `warmUpSeconds` after the commanded level last changed. A value type: feed it every
/// reading with the commanded level and when that level was set; keep the returned state.
/// Cycling is judged from lamp failure's raises (`CyclingWatch`).
public struct FaultDetector: Hashable, Sendable, Codable {
    public var lampType: LampType
    /// Faults currently raised.
    public private(set) var active: Set<LampFault> = []
    /// The recent lamp-failure raises, for `.cycling`.
    public private(set) var cycling: CyclingWatch

    public init(lampType: LampType, cycling: CyclingWatch = CyclingWatch()) {
        self.lampType = lampType
        self.cycling = cycling
    }

    private enum CodingKeys: String, CodingKey { case lampType, active, cycling }

    /// Reads a saved detector; one saved before the cycling watch existed starts with an empty one.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        lampType = try container.decode(LampType.self, forKey: .lampType)
        active = try container.decodeIfPresent(Set<LampFault>.self, forKey: .active) ?? []
        cycling = try container.decodeIfPresent(CyclingWatch.self, forKey: .cycling) ?? CyclingWatch()
    }

    /// Judges one reading taken at `now`; returns the transitions it caused.
    public mutating func update(_ measurement: LampMeasurement, commandedLevelPercent: Double, levelSetAt: Date, now: Date) -> [FaultEvent] {
        var present: [LampFault: String] = [:]
        var judged: Set<LampFault> = [.voltageOutOfRange]
        if let volts = measurement.voltageVolts,
           volts < lampType.minimumVoltageVolts || volts > lampType.maximumVoltageVolts {
            present[.voltageOutOfRange] = String(printf: "supply %.1f V outside %.0f–%.0f V", volts,
                                                 lampType.minimumVoltageVolts, lampType.maximumVoltageVolts)
        }
        let settled = now.timeIntervalSince(levelSetAt) >= lampType.warmUpSeconds
        if settled {
            judged.formUnion([.lampFailure, .dayBurner, .dimmingFailure, .lowPowerFactor])
            let expected = lampType.expectedPowerWatts(levelPercent: commandedLevelPercent)
            let tolerance = expected * lampType.tolerancePercent / 100
            let watts = measurement.powerWatts
            let detail = String(printf: "commanded %.0f %%, expected %.1f W ± %.0f %%, measured %.1f W",
                                commandedLevelPercent, expected, lampType.tolerancePercent, watts)
            if commandedLevelPercent > 0 {
                if watts < max(lampType.standbyPowerWatts * 2, expected * 0.1) {
                    present[.lampFailure] = detail
                } else if abs(watts - expected) > tolerance {
                    present[.dimmingFailure] = detail
                }
                if let pf = measurement.powerFactor, pf < lampType.minimumPowerFactor, present[.lampFailure] == nil {
                    present[.lowPowerFactor] = String(printf: "power factor %.2f below %.2f", pf, lampType.minimumPowerFactor)
                }
            } else if watts > max(lampType.standbyPowerWatts * (1 + lampType.tolerancePercent / 100), lampType.minimumPowerWatts * 0.5) {
                present[.dayBurner] = detail
            }
        }
        var events: [FaultEvent] = []
        for fault in LampFault.allCases where judged.contains(fault) {
            if let detail = present[fault], !active.contains(fault) {
                active.insert(fault)
                events.append(FaultEvent(fault: fault, transition: .raised, at: now, detail: detail))
            } else if present[fault] == nil, active.contains(fault) {
                active.remove(fault)
                events.append(FaultEvent(fault: fault, transition: .cleared, at: now,
                                         detail: String(printf: "measured %.1f W", measurement.powerWatts)))
            }
        }
        let lampFailureRaised = events.contains { $0.fault == .lampFailure && $0.transition == .raised }
        switch cycling.judge(lampFailureRaised: lampFailureRaised, cyclingActive: active.contains(.cycling), now: now) {
        case .none:
            break
        case .raise(let detail):
            active.insert(.cycling)
            events.append(FaultEvent(fault: .cycling, transition: .raised, at: now, detail: detail))
        case .clear(let detail):
            active.remove(.cycling)
            events.append(FaultEvent(fault: .cycling, transition: .cleared, at: now, detail: detail))
        }
        return events
    }
}
