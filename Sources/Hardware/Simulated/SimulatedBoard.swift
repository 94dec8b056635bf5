import Synchronization
import Clocks

/// The built-in simulated board: everything `lampd --simulate` and the tests
/// need to run the whole agent on any Linux machine, behind the same
/// protocols as the live hardware.
///
/// - GPIO chip `simulated` (`SimulatedGPIOChip.standardBoard()`): the lamp
///   relay output and the traffic-light cabinet's contacts (door, flash mode,
///   controller fault, mains present, on battery) and a photocell.
/// - PWM channel `simulated-pwm0`: the lamp driver's dim input.
/// - Modbus bus `simulated`: an SDM120-style energy meter as unit
///   `meterUnit`, measuring the lamp, and an 8-input digital-input module as
///   unit `cabinetModuleUnit`, wired to the same cabinet contacts as the GPIO
///   lines (discrete inputs 0…4: door, flash mode, controller fault, mains
///   present, on battery), so the cabinet can be read either way.
/// - The lamp: its power draw follows the relay and the dim level, with a
///   warm-up and injectable faults.
///
/// Time is seconds on a steady clock, injectable for tests.
public final class SimulatedBoard: Sendable {
    /// Modbus unit id of the energy meter.
    public static let meterUnit: UInt8 = 1
    /// Modbus unit id of the cabinet's digital-input module.
    public static let cabinetModuleUnit: UInt8 = 2
    /// The cabinet contact lines, in the order of the module's discrete inputs 0…4.
    public static let cabinetContactLines = ["CABINET_DOOR", "FLASH_MODE", "CONTROLLER_FAULT", "MAINS_PRESENT", "ON_BATTERY"]
    /// Name of the relay line that switches the lamp.
    public static let relayLine = "LAMP_RELAY"

    public let gpio: SimulatedGPIOChip
    public let lampPWM: SimulatedPWMChannel
    public let modbus: SimulatedModbusBus

    private let physics: Physics
    /// The board's time: the lamp's warm-up, the meter's energy, the GPIO stamps.
    public let clock: any MonotonicClock

    /// The lamp and the meter, advanced together whenever the meter is read
    /// or a scenario asks.
    final class Physics: Sendable {
        private let state: Mutex<(lamp: SimulatedLamp, meter: SimulatedEnergyMeter)>

        init(lamp: SimulatedLamp, meter: SimulatedEnergyMeter) {
            state = Mutex((lamp, meter))
        }

        func withState<T>(_ body: (inout SimulatedLamp, inout SimulatedEnergyMeter) -> T) -> T {
            state.withLock { body(&$0.lamp, &$0.meter) }
        }
    }

    /// - Parameters:
    ///   - lamp: the lamp's electrical model (60 W LED by default).
    ///   - initialEnergyKilowattHours: the meter's counter at start.
    ///   - clock: the board's steady time (CLOCK_MONOTONIC by default; a `SimulatedClock` in tests).
    public init(
        lamp: SimulatedLamp = SimulatedLamp(),
        initialEnergyKilowattHours: Double = 1234.5,
        clock: any MonotonicClock = SystemMonotonicClock()
    ) async {
        // The chip stamps edges and output changes with the board's time, so
        // the lamp knows when its relay really closed.
        self.gpio = SimulatedGPIOChip.standardBoard(clock: clock)
        self.lampPWM = SimulatedPWMChannel()
        self.modbus = SimulatedModbusBus(description: "simulated")
        self.physics = Physics(lamp: lamp, meter: SimulatedEnergyMeter(initialEnergyKilowattHours: initialEnergyKilowattHours))
        self.clock = clock

        // 0x0156 (total energy) is the highest SDM120 register used: 400 covers it.
        await modbus.setUnit(Self.meterUnit, SimulatedModbusUnit(bits: 8, registers: 400))
        let physics = physics, gpio = gpio, pwm = lampPWM
        await modbus.setReadHook(Self.meterUnit) { _, _, unit in
            let now = clock.now.seconds
            let control = Self.lampControl(gpio: gpio, pwm: pwm)
            let meter = physics.withState { lamp, meter in
                Self.advance(&lamp, &meter, control: control, atSeconds: now)
                return meter
            }
            for register in SimulatedEnergyMeter.Register.allCases {
                let words = meter.registers(of: register)
                unit.inputRegisters[Int(register.rawValue)] = words[0]
                unit.inputRegisters[Int(register.rawValue) + 1] = words[1]
            }
        }
        // The DI module sees the contacts' levels as they are when it is read.
        await modbus.setUnit(Self.cabinetModuleUnit, SimulatedModbusUnit(bits: 8, registers: 8))
        await modbus.setReadHook(Self.cabinetModuleUnit) { _, _, unit in
            for (input, line) in Self.cabinetContactLines.enumerated() {
                unit.discreteInputs[input] = (try? gpio.level(.name(line))) ?? false
            }
        }
    }

    // MARK: - What a scenario or a test can see

    /// The lamp as it is now (relay, level, faults), after advancing it.
    public func lamp() -> SimulatedLamp {
        advance().lamp
    }

    /// The meter as it is now, after advancing it.
    public func meter() -> SimulatedEnergyMeter {
        advance().meter
    }

    // MARK: - What a scenario or a test can do

    /// Injects or clears a lamp fault.
    public func setLampFault(_ fault: SimulatedLamp.Fault, active: Bool) {
        advance()
        physics.withState { lamp, _ in
            if active { lamp.faults.insert(fault) } else { lamp.faults.remove(fault) }
        }
    }

    /// Mains fails or returns: the meter sees no voltage, the cabinet's
    /// `MAINS_PRESENT` contact opens and `ON_BATTERY` closes.
    public func setMainsPresent(_ present: Bool) throws {
        advance()
        physics.withState { _, meter in meter.mainsPresent = present }
        try gpio.setInputLevel(.name("MAINS_PRESENT"), high: present)
        try gpio.setInputLevel(.name("ON_BATTERY"), high: !present)
    }

    /// Opens or closes the cabinet door contact.
    public func setCabinetDoorOpen(_ open: Bool) throws {
        try gpio.setInputLevel(.name("CABINET_DOOR"), high: open)
    }

    /// The traffic controller switches its signals to flashing amber, or back.
    public func setFlashMode(_ on: Bool) throws {
        try gpio.setInputLevel(.name("FLASH_MODE"), high: on)
    }

    /// The traffic controller reports a fault, or clears it.
    public func setControllerFault(_ on: Bool) throws {
        try gpio.setInputLevel(.name("CONTROLLER_FAULT"), high: on)
    }

    /// The photocell sees dark (true) or daylight.
    public func setDark(_ dark: Bool) throws {
        try gpio.setInputLevel(.name("PHOTOCELL"), high: dark)
    }

    /// The cabinet's digital-input module stops answering on the bus (or answers again).
    public func setCabinetModuleAnswering(_ answering: Bool) async {
        await modbus.setBehaviour(Self.cabinetModuleUnit, answering ? .answering : .dead)
    }

    /// The meter stops answering on the bus (or answers again).
    public func setMeterAnswering(_ answering: Bool) async {
        await modbus.setBehaviour(Self.meterUnit, answering ? .answering : .dead)
    }

    // MARK: - Physics

    struct LampControl {
        var relayClosed: Bool
        /// When the relay line last changed, in board seconds.
        var relayChangedAtSeconds: Double?
        var levelPercent: Double
    }

    /// What the lamp is told by its relay line and its PWM dim input.
    static func lampControl(gpio: SimulatedGPIOChip, pwm: SimulatedPWMChannel) -> LampControl {
        let relay = (try? gpio.level(.name(relayLine))) ?? false
        let changed = (try? gpio.outputHistory(.name(relayLine)))?.last.map { Double($0.monotonicNanoseconds) / 1e9 }
        let state = pwm.currentState
        var level = 100.0
        if state.enabled && state.periodNanoseconds > 0 {
            let fraction = state.dutyFraction
            level = (state.polarity == .normal ? fraction : 1 - fraction) * 100
        }
        return LampControl(relayClosed: relay, relayChangedAtSeconds: changed, levelPercent: level)
    }

    static func advance(_ lamp: inout SimulatedLamp, _ meter: inout SimulatedEnergyMeter, control: LampControl, atSeconds now: Double) {
        lamp.setRelay(control.relayClosed, atSeconds: min(now, control.relayChangedAtSeconds ?? now))
        lamp.setLevel(percent: control.levelPercent)
        meter.update(loadPowerWatts: lamp.powerWatts(atSeconds: now), atSeconds: now)
    }

    @discardableResult
    private func advance() -> (lamp: SimulatedLamp, meter: SimulatedEnergyMeter) {
        let now = clock.now.seconds
        let control = Self.lampControl(gpio: gpio, pwm: lampPWM)
        return physics.withState { lamp, meter in
            Self.advance(&lamp, &meter, control: control, atSeconds: now)
            return (lamp, meter)
        }
    }
}
