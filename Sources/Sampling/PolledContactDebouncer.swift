/// Debounces a contact that is polled (a Modbus digital input, a bit of a
/// status register): a new state counts once `pollsRequired` polls in a row
/// saw it.
///
/// Pure logic; counts polls, not time, so a slow or late poll never makes a
/// bounce count.
public struct PolledContactDebouncer: Sendable, Hashable {
    /// How many polls in a row must see a new state (1 accepts it at once).
    public let pollsRequired: Int
    /// The debounced state.
    public private(set) var state: Bool
    /// How many polls in a row have seen the opposite of `state`.
    public private(set) var pendingPolls = 0

    public init(initialState: Bool, pollsRequired: Int) {
        self.state = initialState
        self.pollsRequired = max(1, pollsRequired)
    }

    /// Feeds one poll; returns the new debounced state if it changed now.
    public mutating func observe(_ raw: Bool) -> Bool? {
        guard raw != state else {
            pendingPolls = 0
            return nil
        }
        pendingPolls += 1
        guard pendingPolls >= pollsRequired else { return nil }
        state = raw
        pendingPolls = 0
        return state
    }

    /// Drops a pending change: the polls that saw it are no longer in a row
    /// (the module stopped answering in between).
    public mutating func forgetPending() { pendingPolls = 0 }
}
