import LampdConfig
import FoundationEssentials
import Hardware

/// Opens the lamp output `[lighting]` describes, on the live board or the simulated one.
public enum LampOutputs {
    /// Opens the output with the relay already at `initiallyOn` (the restored state, or on
    /// when there is none: light first). On the simulated board the relay is its `LAMP_RELAY`
    /// line, the PWM its `lampPWM`, and every Modbus bus its simulated bus.
    public static func open(_ output: LightingConfiguration.Output, board: SimulatedBoard?,
                            buses: [String: any ModbusClient], initiallyOn: Bool) async throws -> any LampOutput {
        switch output {
        case .relay(let relay):
            return RelayLampOutput(relay: try await openRelay(relay, board: board, initiallyOn: initiallyOn))
        case .relayPWM(let relay, let pwm):
            let line = try await openRelay(relay, board: board, initiallyOn: initiallyOn)
            let channel: any PWMChannel = if let board { board.lampPWM } else {
                try await SysfsPWMChannel.open(chip: pwm.chip, channel: pwm.channel)
            }
            return DimmedRelayLampOutput(relay: line, pwm: channel,
                                         dimming: PWMDimming(periodNanoseconds: pwm.periodNanoseconds, inverted: pwm.inverted),
                                         minimumLevelPercent: pwm.minimumLevelPercent)
        case .modbus(let register):
            guard let client = board?.modbus ?? buses[register.bus] else {
                throw AgentError("[lighting.modbus] bus \"\(register.bus)\" is not configured in [[modbus.buses]]")
            }
            return ModbusRegisterLampOutput(client: client, unit: register.unit, address: register.address,
                                            scale: register.scale, minimumLevelPercent: register.minimumLevelPercent)
        }
    }

    /// Like `open`, but a PWM channel that cannot be opened (no such chip, `/sys` read-only under the
    /// unit's sandbox, no permission) does not stop lampd: the lamp is then switched by its relay
    /// alone (full power when on; light first), and the returned problem says why, for an alarm.
    public static func openFallingBackToRelay(_ output: LightingConfiguration.Output, board: SimulatedBoard?,
                                              buses: [String: any ModbusClient], initiallyOn: Bool) async throws -> (output: any LampOutput, problem: String?) {
        guard case .relayPWM(let relay, let pwm) = output, board == nil else {
            return (try await open(output, board: board, buses: buses, initiallyOn: initiallyOn), nil)
        }
        let line = try await openRelay(relay, board: board, initiallyOn: initiallyOn)
        return await dimmedOrRelayOnly(relay: line, pwm: pwm) { try await SysfsPWMChannel.open(chip: pwm.chip, channel: pwm.channel) }
    }

    /// The relay with PWM dimming, or the relay alone (and why) when `openPWM` fails.
    static func dimmedOrRelayOnly(relay line: any DigitalOutput, pwm: LightingConfiguration.PWM,
                                  openPWM: () async throws -> any PWMChannel) async -> (output: any LampOutput, problem: String?) {
        do {
            let channel = try await openPWM()
            return (DimmedRelayLampOutput(relay: line, pwm: channel,
                                          dimming: PWMDimming(periodNanoseconds: pwm.periodNanoseconds, inverted: pwm.inverted),
                                          minimumLevelPercent: pwm.minimumLevelPercent), nil)
        } catch {
            return (RelayLampOutput(relay: line),
                    "PWM chip \(pwm.chip) channel \(pwm.channel) cannot be used (\(error)): the lamp is switched by its relay only, "
                        + "at full power when on — check the PWM wiring and that lampd may write /sys/class/pwm (docs/gpio-and-pwm.md)")
        }
    }

    private static func openRelay(_ relay: LightingConfiguration.Relay, board: SimulatedBoard?, initiallyOn: Bool) async throws -> any DigitalOutput {
        if let board {
            return try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: initiallyOn)
        }
        let chip = try await GPIOChip.open(relay.chip)
        return try await chip.requestOutput(GPIOLineSelector(relay.line), initialValue: initiallyOn, activeLow: relay.activeLow)
    }
}
