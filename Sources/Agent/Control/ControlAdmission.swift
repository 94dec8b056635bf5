/// Who gets one of the control server's connection slots: at most `maximum` connections at
/// once, of which `reserved` are kept for privileged peers (root and the operators group), so
/// read-only clients — slow, stuck or hostile — can never lock a technician with sudo out.
///
/// Pure bookkeeping, tested without sockets; the server holds it under its lock.
struct ControlAdmission: Sendable {
    /// Connections served at once.
    let maximum: Int
    /// Of those, the slots only privileged peers may take (at most `maximum` − 1, so a read-only
    /// user can always get one slot when `maximum` > 1).
    let reserved: Int
    private(set) var open = 0
    private(set) var openUnprivileged = 0

    init(maximum: Int, reserved: Int) {
        self.maximum = max(1, maximum)
        self.reserved = min(max(0, reserved), self.maximum - 1)
    }

    /// Slots read-only peers may hold together.
    var unprivilegedLimit: Int { maximum - reserved }

    /// Takes a slot for a peer, if one is free for it; false means answer `busy`.
    mutating func admit(privileged: Bool) -> Bool {
        guard open < maximum else { return false }
        if !privileged {
            guard openUnprivileged < unprivilegedLimit else { return false }
            openUnprivileged += 1
        }
        open += 1
        return true
    }

    /// Gives back the slot of a connection that ended.
    mutating func release(privileged: Bool) {
        open = max(0, open - 1)
        if !privileged { openUnprivileged = max(0, openUnprivileged - 1) }
    }
}
