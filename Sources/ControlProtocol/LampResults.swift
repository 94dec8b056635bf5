import FoundationEssentials
import Hardware
import Lighting

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

        public init(at: Date, switchPoint: String, levelPercent: Int, label: String, programID: String, note: String?) {
            self.at = at
            self.switchPoint = switchPoint
            self.levelPercent = levelPercent
            self.label = label
            self.programID = programID
            self.note = note
        }
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

    public init(levelPercent: Double, targetLevelPercent: Double, source: DecisionSource, reason: String,
                nextSwitches: [UpcomingSwitch], override: LightOverride?, clockSynchronised: Bool,
                outputDescription: String, output: LampOutputState?, activeFaults: [LampFault], burnHours: Double,
                switchOnCount: Int, energyWattHours: Double, decidedAt: Date, outputError: String?,
                lampTest: LampTest? = nil) {
        self.levelPercent = levelPercent
        self.targetLevelPercent = targetLevelPercent
        self.source = source
        self.reason = reason
        self.nextSwitches = nextSwitches
        self.override = override
        self.clockSynchronised = clockSynchronised
        self.outputDescription = outputDescription
        self.output = output
        self.activeFaults = activeFaults
        self.burnHours = burnHours
        self.switchOnCount = switchOnCount
        self.energyWattHours = energyWattHours
        self.decidedAt = decidedAt
        self.outputError = outputError
        self.lampTest = lampTest
    }
}

/// A visible lamp test (`lampctl lamp test`): the lamp steps through `levelsPercent`, each
/// level held `stepSeconds`, then the program decides again.
///
/// Each step is a short technician override (expiring `stepSeconds` + 5 s after it starts),
/// so the arbiter and the fail-safe still apply, `lamp clear` or any other override ends
/// the test, and a lampd that stops mid-test leaves at most a few seconds of override behind.
public struct LampTest: Sendable, Hashable, Codable {
    /// Where the test stands.
    public enum State: String, Sendable, Hashable, Codable {
        case running
        /// All steps shown; the program decides again.
        case finished
        /// Ended early: `lamp clear`, another override, or lampd stopping (see `endReason`).
        case cancelled
    }

    /// The levels in order, percent 0–100.
    public var levelsPercent: [Int]
    /// How long each level is held, seconds.
    public var stepSeconds: Double
    /// 1-based number of the step in force (0 before the first).
    public var step: Int
    public var state: State
    public var startedAt: Date
    /// When the last step ends, if the test runs to its end.
    public var endsAt: Date
    /// The technician who started it, e.g. `alice`.
    public var by: String
    /// Why it ended early (`cancelled`).
    public var endReason: String?

    /// 0 → 25 → 50 → 75 → 100 % and back off.
    public static let defaultLevelsPercent = [0, 25, 50, 75, 100, 0]
    /// Allowed `stepSeconds`: long enough to see from the street, short enough not to bother.
    public static let stepSecondsRange = 1.0...60.0
    public static let defaultStepSeconds = 3.0

    public init(levelsPercent: [Int], stepSeconds: Double, step: Int, state: State, startedAt: Date, endsAt: Date,
                by: String, endReason: String? = nil) {
        self.levelsPercent = levelsPercent
        self.stepSeconds = stepSeconds
        self.step = step
        self.state = state
        self.startedAt = startedAt
        self.endsAt = endsAt
        self.by = by
        self.endReason = endReason
    }
}


/// `lamp.clear`'s result: whether an override was removed, and which.
public struct LampClearResult: Sendable, Hashable, Codable {
    /// True when there was an override to remove.
    public var cleared: Bool
    /// The override removed (absent when there was none).
    public var override: LightOverride?

    public init(cleared: Bool, override: LightOverride? = nil) {
        self.cleared = cleared
        self.override = override
    }
}
