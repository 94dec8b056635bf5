import SystemSupport
import FoundationEssentials

/// Who asked for an override.
public enum OverrideSource: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A field technician (name as logged in, e.g. `alice`), via `lampctl`.
    case technician(String)
    /// The city's central management system (TALQ `OverrideCommand`), with its reference if any.
    case upstream(String?)

    public var description: String {
        switch self {
        case .technician(let name): "technician \(name)"
        case .upstream(let reference): reference.map { "upstream (\($0))" } ?? "upstream"
        }
    }
}

/// A manual level that replaces the program for a while (TALQ `OverrideCommand.targetCommand`).
public struct LightOverride: Hashable, Sendable, Codable {
    /// 0–100 %.
    public var levelPercent: Int
    /// When it takes effect (TALQ `start`; the time it was received when absent).
    public var start: Date
    /// When it ends and the program resumes (TALQ `expiration`); nil = until cleared
    /// (never for a technician: see ``OverridePolicy``).
    public var expiry: Date?
    /// Seconds to ramp to the level (TALQ `rampToLevelTime`).
    public var rampSeconds: Double
    /// Free text: why ("cable work at pole 17").
    public var reason: String?
    public var source: OverrideSource
    /// Set on a technician override accepted while the board's clock was not
    /// synchronised: its start and expiry are on that clock, which still runs
    /// steadily, so it is honoured as a timer — and cleared as soon as the
    /// clock is synchronised (a step of the clock would stretch or cut it).
    /// nil means false (files written before this field existed).
    public var timedOnUnsynchronisedClock: Bool?

    public init(levelPercent: Int, start: Date, expiry: Date?, rampSeconds: Double = 0, reason: String? = nil, source: OverrideSource) {
        self.levelPercent = levelPercent
        self.start = start
        self.expiry = expiry
        self.rampSeconds = rampSeconds
        self.reason = reason
        self.source = source
    }

    /// Whether the override is in force at `instant` (start ≤ instant < expiry).
    public func isActive(at instant: Date) -> Bool {
        instant >= start && (expiry.map { instant < $0 } ?? true)
    }
}

/// Limits on overrides so that a forgotten one cannot leave a street dark (or lit) for long.
///
/// A technician override must end: without an expiry it gets `defaultTechnicianDurationSeconds`;
/// an expiry further than `maximumTechnicianDurationSeconds` after its start is cut to that.
public struct OverridePolicy: Hashable, Sendable, Codable {
    /// Duration given to a technician override without an expiry, in seconds (default 2 h).
    public var defaultTechnicianDurationSeconds: Double
    /// Longest a technician override may last, in seconds (default 12 h).
    public var maximumTechnicianDurationSeconds: Double
    /// Longest an upstream override may last, in seconds; nil = as upstream says (TALQ allows none).
    public var maximumUpstreamDurationSeconds: Double?

    public init(defaultTechnicianDurationSeconds: Double = 2 * 3600, maximumTechnicianDurationSeconds: Double = 12 * 3600,
                maximumUpstreamDurationSeconds: Double? = nil) {
        self.defaultTechnicianDurationSeconds = defaultTechnicianDurationSeconds
        self.maximumTechnicianDurationSeconds = maximumTechnicianDurationSeconds
        self.maximumUpstreamDurationSeconds = maximumUpstreamDurationSeconds
    }
}

/// Why an override request was refused.
public struct OverrideError: ActionableError, Hashable {
    public let code: String
    public let description: String
}

/// An override request as it arrives, before the policy is applied.
public struct OverrideRequest: Hashable, Sendable {
    public var levelPercent: Int
    public var start: Date?
    public var expiry: Date?
    public var rampSeconds: Double
    public var reason: String?
    public var source: OverrideSource

    public init(levelPercent: Int, start: Date? = nil, expiry: Date? = nil, rampSeconds: Double = 0,
                reason: String? = nil, source: OverrideSource) {
        self.levelPercent = levelPercent
        self.start = start
        self.expiry = expiry
        self.rampSeconds = rampSeconds
        self.reason = reason
        self.source = source
    }
}

/// The override in force, if any. Latest wins (TALQ: a new override replaces the former);
/// clearing returns the lamp to its program. A value type: the caller keeps and persists it.
public struct OverrideState: Hashable, Sendable, Codable {
    public private(set) var current: LightOverride?

    public init(current: LightOverride? = nil) {
        self.current = current
    }

    /// Applies `request` received at `now` under `policy`; returns the override as stored.
    @discardableResult
    public mutating func apply(_ request: OverrideRequest, now: Date, policy: OverridePolicy) throws(OverrideError) -> LightOverride {
        guard (0...100).contains(request.levelPercent) else {
            throw OverrideError(code: "level-out-of-range", description: "override level \(request.levelPercent) % is not within 0–100 %")
        }
        guard request.rampSeconds >= 0 else {
            throw OverrideError(code: "negative-ramp", description: "override ramp must be ≥ 0 s")
        }
        let start = request.start ?? now
        var expiry = request.expiry
        if let expiry, expiry <= start {
            throw OverrideError(code: "expiry-before-start", description: "override expiry must be after its start")
        }
        switch request.source {
        case .technician:
            let latest = start.addingTimeInterval(policy.maximumTechnicianDurationSeconds)
            expiry = min(expiry ?? start.addingTimeInterval(policy.defaultTechnicianDurationSeconds), latest)
        case .upstream:
            if let maximum = policy.maximumUpstreamDurationSeconds {
                expiry = min(expiry ?? start.addingTimeInterval(maximum), start.addingTimeInterval(maximum))
            }
        }
        let accepted = LightOverride(levelPercent: request.levelPercent, start: start, expiry: expiry,
                                     rampSeconds: request.rampSeconds, reason: request.reason, source: request.source)
        current = accepted
        return accepted
    }

    /// Applies a TALQ `OverrideCommand`: with a `targetCommand` it sets an upstream override,
    /// without one it clears the override.
    public mutating func apply(talq command: TALQ.OverrideCommand, now: Date, policy: OverridePolicy) throws(OverrideError) {
        guard let target = command.targetCommand else {
            clear()
            return
        }
        let level: Int
        do { level = try TALQ.level(of: target, context: "TALQ override") } catch {
            throw OverrideError(code: error.code, description: error.description)
        }
        func date(_ text: String?) throws(OverrideError) -> Date? {
            guard let text else { return nil }
            if let d = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return d }
            if let d = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return d }
            throw OverrideError(code: "bad-date", description: "TALQ override: '\(text)' is not an RFC 3339 date-time")
        }
        try apply(OverrideRequest(levelPercent: level, start: try date(target.start), expiry: try date(target.expiration),
                                  rampSeconds: target.rampToLevelTime ?? 0, reason: target.reason,
                                  source: .upstream(target.cmsRefId)), now: now, policy: policy)
    }

    /// Removes the override: the program decides again.
    public mutating func clear() {
        current = nil
    }

    /// Marks the current override as timed on an unsynchronised clock (see
    /// ``LightOverride/timedOnUnsynchronisedClock``) and returns it.
    @discardableResult
    public mutating func markTimedOnUnsynchronisedClock() -> LightOverride? {
        current?.timedOnUnsynchronisedClock = true
        return current
    }

    /// The override in force at `instant` (nil before its start and after its expiry).
    public func active(at instant: Date) -> LightOverride? {
        guard let current, current.isActive(at: instant) else { return nil }
        return current
    }
}
