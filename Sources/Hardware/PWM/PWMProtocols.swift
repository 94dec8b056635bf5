/// The seam between the agent and a PWM channel (STYLE.md rule 12).

/// Signal polarity of a PWM channel.
public enum PWMPolarity: String, Sendable, Hashable, Codable {
    /// High for the duty-cycle part of the period.
    case normal
    /// Low for the duty-cycle part of the period (many 0–10 V converters).
    case inversed
}

/// What a PWM channel is set to right now.
public struct PWMState: Sendable, Hashable, Codable {
    public var periodNanoseconds: UInt64
    public var dutyCycleNanoseconds: UInt64
    public var polarity: PWMPolarity
    public var enabled: Bool

    public init(periodNanoseconds: UInt64, dutyCycleNanoseconds: UInt64, polarity: PWMPolarity, enabled: Bool) {
        self.periodNanoseconds = periodNanoseconds
        self.dutyCycleNanoseconds = dutyCycleNanoseconds
        self.polarity = polarity
        self.enabled = enabled
    }

    /// Duty cycle as a fraction of the period, 0...1 (0 when the period is 0).
    public var dutyFraction: Double {
        periodNanoseconds == 0 ? 0 : Double(dutyCycleNanoseconds) / Double(periodNanoseconds)
    }
}

/// One PWM output, e.g. `/sys/class/pwm/pwmchip0/pwm1`.
public protocol PWMChannel: Sendable {
    /// Where the channel is, for messages.
    var description: String { get }
    /// Sets period, duty cycle, polarity and enable in the order the kernel
    /// accepts (duty never above period, polarity only while disabled).
    func apply(_ state: PWMState) async throws
    /// Reads back what the channel is set to.
    func state() async throws -> PWMState
}
