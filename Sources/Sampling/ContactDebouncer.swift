/// Debounces a dry contact (a cabinet door switch, a relay contact): a new
/// state counts only once the raw input has held it for the debounce time.
///
/// Pure logic. Time is in nanoseconds of the monotonic clock, the scale GPIO
/// edge events carry.
public struct ContactDebouncer: Sendable {
    /// How long the raw input must hold a new state before it counts, in nanoseconds.
    public let debounceNanoseconds: UInt64
    /// The debounced state.
    public private(set) var state: Bool
    /// A raw state that differs from `state` and since when it holds.
    public private(set) var candidate: (value: Bool, sinceNanoseconds: UInt64)?

    public init(initialState: Bool, debounceNanoseconds: UInt64) {
        self.state = initialState
        self.debounceNanoseconds = debounceNanoseconds
    }

    /// Feeds one raw observation (an edge event or a poll); returns the new
    /// debounced state if it changed now.
    public mutating func observe(_ raw: Bool, atNanoseconds now: UInt64) -> Bool? {
        if raw == state {
            candidate = nil
            return nil
        }
        if let pending = candidate, pending.value == raw {
            return settle(atNanoseconds: now)
        }
        candidate = (raw, now)
        return debounceNanoseconds == 0 ? settle(atNanoseconds: now) : nil
    }

    /// Accepts a pending state once it has held long enough; call it when
    /// `deadlineNanoseconds` passes with no further edge.
    public mutating func settle(atNanoseconds now: UInt64) -> Bool? {
        guard let pending = candidate, now >= pending.sinceNanoseconds &+ debounceNanoseconds else { return nil }
        state = pending.value
        candidate = nil
        return state
    }

    /// When a pending state would be accepted, if one is pending.
    public var deadlineNanoseconds: UInt64? {
        candidate.map { $0.sinceNanoseconds &+ debounceNanoseconds }
    }
}
