import Synchronization

/// A PWM channel in memory for tests and the simulated board: records every
/// applied state and refuses what the kernel refuses (duty cycle above period).
public final class SimulatedPWMChannel: PWMChannel {
    /// `simulated-pwm0`.
    public let description: String
    private let current: Mutex<(state: PWMState, history: [PWMState])>
    /// How many applied states `history` keeps (the oldest are dropped), so a
    /// simulated board running for weeks does not grow without bound.
    public static let historyLimit = 1000

    /// A channel that starts like a freshly exported one: period 0, disabled.
    public init(
        description: String = "simulated-pwm0",
        initial: PWMState = PWMState(periodNanoseconds: 0, dutyCycleNanoseconds: 0, polarity: .normal, enabled: false)
    ) {
        self.description = description
        self.current = Mutex((initial, []))
    }

    public func apply(_ state: PWMState) async throws {
        guard state.dutyCycleNanoseconds <= state.periodNanoseconds else {
            throw PWMError.invalidValue(
                path: "\(description)/duty_cycle", value: "\(state.dutyCycleNanoseconds)",
                reason: "duty cycle is longer than the period (\(state.periodNanoseconds) ns)")
        }
        current.withLock {
            $0.state = state
            $0.history.append(state)
            if $0.history.count > Self.historyLimit { $0.history.removeFirst($0.history.count - Self.historyLimit) }
        }
    }

    public func state() async throws -> PWMState { current.withLock { $0.state } }

    /// The state applied last, without suspending (for the simulated board's physics).
    public var currentState: PWMState { current.withLock { $0.state } }

    /// Every state applied so far, oldest first.
    public var history: [PWMState] { current.withLock { $0.history } }
}
