/// A single-phase DIN-rail energy meter on the simulated board, laid out
/// like an Eastron SDM120-Modbus: input registers holding IEEE-754 float32,
/// big-endian word order (ABCD).
///
/// It measures whatever load it is given (the simulated lamp), integrates
/// energy over time, and can be told that mains is missing.
public struct SimulatedEnergyMeter: Sendable, Hashable {
    /// Input-register addresses (0-based) of the SDM120 map used here.
    public enum Register: UInt16, Sendable, CaseIterable {
        case voltage = 0x0000          // V
        case current = 0x0006          // A
        case activePower = 0x000C      // W
        case apparentPower = 0x0012    // VA
        case reactivePower = 0x0018    // var
        case powerFactor = 0x001E      // 1
        case frequency = 0x0046        // Hz
        case importActiveEnergy = 0x0048  // kWh
        case totalActiveEnergy = 0x0156   // kWh
    }

    /// Supply voltage when mains is present, in volts.
    public var nominalVoltage: Double = 230
    /// Supply frequency, in hertz.
    public var frequencyHertz: Double = 50
    /// Power factor of the load while it draws power.
    public var loadPowerFactor: Double = 0.95
    /// Whether mains is present at the meter.
    public var mainsPresent = true

    /// Energy counted so far, in kilowatt-hours.
    public private(set) var energyKilowattHours: Double
    /// Power of the load at the last update, in watts.
    public private(set) var activePowerWatts: Double = 0
    /// Scenario time of the last update, in seconds.
    public private(set) var lastUpdateSeconds: Double?

    public init(initialEnergyKilowattHours: Double = 0) {
        self.energyKilowattHours = initialEnergyKilowattHours
    }

    /// Records that the load draws `powerWatts` from `secondsSinceStart` on,
    /// integrating the energy drawn since the previous update.
    public mutating func update(loadPowerWatts powerWatts: Double, atSeconds secondsSinceStart: Double) {
        if let last = lastUpdateSeconds, secondsSinceStart > last {
            energyKilowattHours += activePowerWatts * (secondsSinceStart - last) / 3_600_000
        }
        activePowerWatts = mainsPresent ? max(0, powerWatts) : 0
        lastUpdateSeconds = secondsSinceStart
    }

    /// The value a register holds now (before float32 encoding).
    public func value(of register: Register) -> Double {
        let volts = mainsPresent ? nominalVoltage : 0
        let pf = activePowerWatts > 0 ? loadPowerFactor : 1
        let apparent = activePowerWatts / pf
        switch register {
        case .voltage: return volts
        case .current: return volts > 0 ? apparent / volts : 0
        case .activePower: return activePowerWatts
        case .apparentPower: return apparent
        case .reactivePower: return (apparent * apparent - activePowerWatts * activePowerWatts).squareRoot()
        case .powerFactor: return pf
        case .frequency: return mainsPresent ? frequencyHertz : 0
        case .importActiveEnergy, .totalActiveEnergy: return energyKilowattHours
        }
    }

    /// The two input registers (ABCD order) that hold `register`'s float32 value.
    public func registers(of register: Register) -> [UInt16] {
        let bits = Float(value(of: register)).bitPattern
        return [UInt16(truncatingIfNeeded: bits >> 16), UInt16(truncatingIfNeeded: bits)]
    }
}
