/// A lamp switched by a relay and dimmed through a PWM channel (directly, or
/// through a PWM-to-0–10 V converter in front of the LED driver).
///
/// Switching on, the dim level is set before the relay closes, so the driver
/// never starts at the wrong level; switching off, the relay opens first.
/// Levels above 0 but below `minimumLevelPercent` (the lowest level the driver
/// holds without flicker) are raised to it. With `dimming.inverted` a higher
/// duty cycle gives less light (many 0–10 V converters).
public struct DimmedRelayLampOutput: LampOutput {
    public let relay: any DigitalOutput
    public let pwm: any PWMChannel
    public let dimming: PWMDimming
    /// Lowest level the driver is run at while on, percent 0–100.
    public let minimumLevelPercent: Double

    public init(relay: any DigitalOutput, pwm: any PWMChannel, dimming: PWMDimming = PWMDimming(), minimumLevelPercent: Double = 0) {
        self.relay = relay
        self.pwm = pwm
        self.dimming = dimming
        self.minimumLevelPercent = minimumLevelPercent
    }

    public var description: String { "relay \(relay.description) + PWM \(pwm.description)" }

    public func setLevel(percent: Double) async throws {
        let level = try LampLevel.effective(percent, minimumPercent: minimumLevelPercent, output: description)
        if level > 0 {
            try await pwm.apply(try dimming.state(percent: level))
            try await relay.write(true)
        } else {
            try await relay.write(false)
            // Parks the dim input at 0 % so the next switch-on does not flash at the old level.
            try await pwm.apply(try dimming.state(percent: 0))
        }
    }

    public func readBack() async throws -> LampOutputState {
        let closed = try await relay.read()
        guard closed else { return LampOutputState(switchedOn: false, levelPercent: 0) }
        let state = try await pwm.state()
        guard state.enabled, state.periodNanoseconds > 0 else {
            // A disabled dim input leaves the driver at full power.
            return LampOutputState(switchedOn: true, levelPercent: 100)
        }
        var fraction = state.dutyFraction
        if state.polarity == .inversed { fraction = 1 - fraction }
        if dimming.inverted { fraction = 1 - fraction }
        return LampOutputState(switchedOn: true, levelPercent: (fraction * 1000).rounded() / 10)
    }
}
