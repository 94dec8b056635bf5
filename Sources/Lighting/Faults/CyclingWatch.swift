import FoundationEssentials

/// Watches lamp-failure raises for a lamp that switches itself off and on again while commanded
/// on (an end-of-life lamp, a failing driver): `FaultDetector`'s `.cycling` fault.
///
/// Cycling is raised when lamp failure was raised `raisesToCycle` times (default 3) within
/// `windowSeconds` (default 30 min); lamp failure is only ever raised while the lamp is commanded
/// on, so every counted raise happened while commanded on. It is cleared once a full window has
/// passed without a lamp-failure raise — a lamp commanded off (dawn) raises none, so it clears a
/// window after the last raise; a lamp that stopped cycling because it died for good keeps its lamp
/// failure and loses cycling. Memory is bounded: at most `raisesToCycle` raise times are kept.
///
/// Times are the caller's clock (lampd passes boot time): a clock that goes back (a reboot
/// restored the state) never traps and never raises — the raise times before it are dropped,
/// and a raised cycling is cleared a full window after the jump.
public struct CyclingWatch: Hashable, Sendable, Codable {
    /// Lamp-failure raises within `windowSeconds` that make the lamp cycling (at least 2).
    public var raisesToCycle: Int
    /// The window, seconds.
    public var windowSeconds: Double
    /// The latest lamp-failure raise times, oldest first; at most `raisesToCycle`.
    public private(set) var raiseTimes: [Date] = []

    public static let defaultRaisesToCycle = 3
    public static let defaultWindowSeconds: Double = 30 * 60

    /// `raisesToCycle` is kept within 2…100 (one raise is a lamp failure, not cycling); a window
    /// that is not a positive finite number of seconds is taken as the default.
    public init(raisesToCycle: Int = Self.defaultRaisesToCycle, windowSeconds: Double = Self.defaultWindowSeconds) {
        self.raisesToCycle = min(max(raisesToCycle, 2), Self.maximumRaisesToCycle)
        self.windowSeconds = windowSeconds.isFinite && windowSeconds > 0 ? windowSeconds : Self.defaultWindowSeconds
    }

    /// What one judgement does to cycling.
    public enum Step: Hashable, Sendable {
        case none
        /// Raise it, with the detail an operator reads.
        case raise(String)
        /// Clear it, with the detail an operator reads.
        case clear(String)
    }

    /// Takes one judgement at `now`: whether lamp failure was raised by it, and whether cycling is
    /// raised now.
    public mutating func judge(lampFailureRaised: Bool, cyclingActive: Bool, now: Date) -> Step {
        if let newest = raiseTimes.last, !(now >= newest) {
            // The clock went back (or is NaN): the kept times cannot be compared with it. A raised
            // cycling keeps one mark at `now`, so it clears a full window from here.
            raiseTimes = cyclingActive && !now.timeIntervalSince1970.isNaN ? [now] : []
        }
        if lampFailureRaised, !now.timeIntervalSince1970.isNaN {
            raiseTimes.append(now)
            if raiseTimes.count > raisesToCycle { raiseTimes.removeFirst(raiseTimes.count - raisesToCycle) }
            let inWindow = raiseTimes.filter { now.timeIntervalSince($0) < windowSeconds }.count
            if !cyclingActive, inWindow >= raisesToCycle {
                return .raise("lamp failure raised \(inWindow) times within \(Self.minutes(windowSeconds)) while commanded on")
            }
            return .none
        }
        guard cyclingActive else { return .none }
        // Raised with no raise time kept (a state written by hand) clears at once.
        guard let newest = raiseTimes.last else { return .clear("no lamp-failure raise kept") }
        guard now.timeIntervalSince(newest) >= windowSeconds else { return .none }
        raiseTimes = []
        return .clear("no lamp-failure raise for \(Self.minutes(windowSeconds))")
    }

    static func minutes(_ seconds: Double) -> String {
        Int(exactly: seconds / 60).map { "\($0) min" } ?? "\(seconds) s"
    }

    /// The most raises a window may ask for: keeps memory bounded whatever a state file says.
    public static let maximumRaisesToCycle = 100

    private enum CodingKeys: String, CodingKey { case raisesToCycle, windowSeconds, raiseTimes }

    /// Reads a saved watch through the same bounds as `init` (a state file is outside input).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            raisesToCycle: try container.decodeIfPresent(Int.self, forKey: .raisesToCycle) ?? Self.defaultRaisesToCycle,
            windowSeconds: try container.decodeIfPresent(Double.self, forKey: .windowSeconds) ?? Self.defaultWindowSeconds)
        raiseTimes = Array((try container.decodeIfPresent([Date].self, forKey: .raiseTimes) ?? []).suffix(raisesToCycle))
    }
}
