import ControlProtocol
/// Folds the refused control calls of each peer into at most two audit records per window: the
/// first refusal in full, then one summary with the count of the others when the window closes.
///
/// A read-only user repeating a refused `lamp.set` must not fill the spool (issue 11, defect 9):
/// per peer uid and window the audit trail writes at most two events, whatever the rate. Pure
/// (times are passed in, monotonic nanoseconds), so it is tested without a clock.
struct RefusalWindows: Sendable {
    /// What a closed window folded: `count` refusals after the first, by command.
    struct Summary: Hashable, Sendable {
        var uid: UInt32?
        var caller: String
        var commands: [String: Int]
        var count: Int { commands.values.reduce(0, +) }
    }

    private struct Window: Sendable {
        var opened: Int64
        var caller: String
        var folded: [String: Int] = [:]
    }

    /// How long a window stays open after the refusal that opened it, in nanoseconds.
    let windowNanoseconds: Int64
    /// Peers tracked one by one; refusals of further uids share one window (uid nil).
    let maximumPeers: Int
    private var windows: [UInt32?: Window] = [:]

    init(windowNanoseconds: Int64, maximumPeers: Int = 64) {
        self.windowNanoseconds = windowNanoseconds
        self.maximumPeers = maximumPeers
    }

    /// A refusal of `command` for `uid` (named `caller`) at `now`: returns whether to record it
    /// in full (it opens a window) and the summaries of windows that closed before it.
    mutating func refuse(uid: UInt32, caller: String, command: String, at now: Int64) -> (recordInFull: Bool, closed: [Summary]) {
        let closed = close(at: now)
        let key: UInt32? = windows[uid] != nil || windows.count < maximumPeers - 1 ? uid : nil
        if var window = windows[key] {
            window.folded[command, default: 0] += 1
            windows[key] = window
            return (false, closed)
        }
        windows[key] = Window(opened: now, caller: key == nil ? "other users" : caller)
        return (true, closed)
    }

    /// Closes the windows whose time is up at `now`; returns the summaries of those that folded refusals.
    mutating func close(at now: Int64) -> [Summary] {
        let expired = windows.filter { CheckedNumber.difference(now, $0.value.opened) >= windowNanoseconds }
        for key in expired.keys { windows[key] = nil }
        return Self.summaries(expired)
    }

    /// Closes every window (at shutdown).
    mutating func closeAll() -> [Summary] {
        defer { windows = [:] }
        return Self.summaries(windows)
    }

    private static func summaries(_ windows: [UInt32?: Window]) -> [Summary] {
        windows.filter { !$0.value.folded.isEmpty }
            .map { Summary(uid: $0.key, caller: $0.value.caller, commands: $0.value.folded) }
            .sorted { ($0.uid ?? .max) < ($1.uid ?? .max) }
    }
}
