import FoundationEssentials
import Hardware
import Lighting
import Synchronization

/// The lighting service's current decision and state, for `lampctl lamp explain` and
/// `lampctl status` (the control socket reads it; any thread may).
public struct LightingSnapshot: Sendable, Hashable, Codable {
    /// One upcoming switch point of the program.
    public struct UpcomingSwitch: Sendable, Hashable, Codable {
        public var at: Date
        /// The switch point's text, e.g. `23:00 → 60 %`.
        public var switchPoint: String
        /// The level it switches to, percent.
        public var levelPercent: Int
        /// When, as configured: `23:00`, `sunset+00:10`.
        public var label: String
        public var programID: String
        /// Set when it does not fire at its nominal time (DST, polar night).
        public var note: String?
    }

    /// Level driven now, percent 0–100 (a ramp step while ramping).
    public var levelPercent: Double
    /// Level being ramped to, percent.
    public var targetLevelPercent: Double
    public var source: DecisionSource
    /// The arbiter's sentence, e.g. `program 'default' switch point 23:00 → 60 % [default program]`.
    public var reason: String
    /// The next switch points (empty when there is no schedule or no location).
    public var nextSwitches: [UpcomingSwitch]
    /// The override stored (it may not be in force yet, or be ignored while the clock is unsynchronised).
    public var override: LightOverride?
    /// Whether the kernel says the clock is synchronised.
    public var clockSynchronised: Bool
    /// The lamp output, e.g. `relay simulated:0 (LAMP_RELAY) + PWM simulated-pwm0`.
    public var outputDescription: String
    /// What the lamp output read back after it was last set, if it could be read.
    public var output: LampOutputState?
    /// Faults raised now.
    public var activeFaults: [LampFault]
    public var burnHours: Double
    public var switchOnCount: Int
    public var energyWattHours: Double
    /// When this was decided (wall clock).
    public var decidedAt: Date
    /// Set when the last write to the lamp output failed.
    public var outputError: String?
    /// The lamp test running or last run since lampd started (`lampctl lamp test`).
    public var lampTest: LampTest? = nil
}

/// Thread-safe holder of the latest `LightingSnapshot`; the lighting service writes it at
/// every step, the control socket reads it.
public final class LightingStatus: Sendable {
    private let current = Mutex<LightingSnapshot?>(nil)

    public init() {}

    /// The latest decision; nil before the service's first step.
    public func snapshot() -> LightingSnapshot? { current.withLock { $0 } }

    func update(_ snapshot: LightingSnapshot) { current.withLock { $0 = snapshot } }
}
