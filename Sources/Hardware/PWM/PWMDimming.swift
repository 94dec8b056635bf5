/// Turns a dim level in percent (0–100) into a PWM state for a dimming input,
/// e.g. a PWM-to-0–10 V converter in front of the LED driver.
///
/// Keep it to the electrical mapping: the lighting module owns dim curves.
/// Many 0–10 V converters (open-collector/optocoupler inputs) invert —
/// full duty gives 0 V — so set `inverted` for those instead of rewiring.
public struct PWMDimming: Sendable, Hashable, Codable {
    /// PWM period in nanoseconds; 1 000 000 (1 kHz) suits most 0–10 V converters.
    public var periodNanoseconds: UInt64
    /// `true` when a higher duty cycle gives a *lower* light level.
    public var inverted: Bool

    public init(periodNanoseconds: UInt64 = 1_000_000, inverted: Bool = false) {
        self.periodNanoseconds = periodNanoseconds
        self.inverted = inverted
    }

    /// Duty cycle in nanoseconds for `percent` (0–100), rounded to the nearest nanosecond.
    ///
    /// - Throws: `PWMError.invalidValue` when `percent` is outside 0–100 or not a number.
    public func dutyCycleNanoseconds(percent: Double) throws -> UInt64 {
        guard percent.isFinite, (0...100).contains(percent) else {
            throw PWMError.invalidValue(
                path: "dim level", value: "\(percent)", reason: "dim level must be 0–100 percent")
        }
        let fraction = (inverted ? 100 - percent : percent) / 100
        return UInt64((Double(periodNanoseconds) * fraction).rounded())
    }

    /// The enabled, normal-polarity state for `percent` (0–100).
    public func state(percent: Double) throws -> PWMState {
        PWMState(
            periodNanoseconds: periodNanoseconds,
            dutyCycleNanoseconds: try dutyCycleNanoseconds(percent: percent),
            polarity: .normal, enabled: true)
    }
}
