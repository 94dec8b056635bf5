import ControlProtocol
import FoundationEssentials
import LampdConfig
#if canImport(Glibc)
import Glibc
#endif

/// The identity of the process at the other end of a Unix socket, as the
/// kernel reports it (SO_PEERCRED): cannot be forged by the client.
public struct PeerCredentials: Hashable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32

    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }
}

/// Who may run which control command. Pure: all lookups go through a
/// `UserDirectory`, so it is tested with made-up users and groups.
///
/// - `.read` commands: root, lampd's own user, members of `readGroup` or of `operatorsGroup`.
/// - `.operate` commands: root and members of `operatorsGroup`.
///
/// Membership counts the user's primary and supplementary groups (getgrouplist)
/// and the gid the calling process runs with (so `sg lampd-operators …` works).
public struct ControlPolicy: Sendable {
    /// Group whose members may run read-only commands (default `lampd`).
    public var readGroup: String
    /// Group whose members may also change the lamp and the spool (default `lampd-operators`).
    public var operatorsGroup: String
    /// The uid lampd runs as: it may always read.
    public var daemonUID: UInt32

    public init(readGroup: String = "lampd", operatorsGroup: String = "lampd-operators", daemonUID: UInt32 = getuid()) {
        self.readGroup = readGroup
        self.operatorsGroup = operatorsGroup
        self.daemonUID = daemonUID
    }

    /// Decides whether `credentials` may run a command needing `permission`;
    /// throws a `not-allowed` error that names the user and the group it lacks.
    public func authorise(_ permission: ControlPermission, credentials: PeerCredentials, directory: some UserDirectory) throws(ControlError) {
        if credentials.uid == 0 { return }
        if permission == .read && credentials.uid == daemonUID { return }
        let groups = directory.groupIDs(ofUID: credentials.uid).union([credentials.gid])
        func isMember(_ group: String) -> Bool {
            guard let gid = directory.groupID(named: group) else { return false }
            return groups.contains(gid)
        }
        let needed: String
        switch permission {
        case .read:
            if isMember(readGroup) || isMember(operatorsGroup) { return }
            needed = readGroup
        case .operate:
            if isMember(operatorsGroup) { return }
            needed = operatorsGroup
        }
        let who = directory.userName(uid: credentials.uid).map { "user \($0) (uid \(credentials.uid))" } ?? "uid \(credentials.uid)"
        let what = permission == .read ? "read lampd's state" : "change the lamp or the spool"
        let message = directory.groupID(named: needed) == nil
            ? "not allowed: \(who) may not \(what): group \(needed) does not exist on this board — create it (systemd/lampd.sysusers) or use sudo"
            : "not allowed: \(who) is not in group \(needed), needed to \(what) — ask for membership (usermod -aG \(needed) USER, then log in again) or use sudo"
        throw ControlError(code: "not-allowed", message: message)
    }
}

extension ControlConfiguration {
    /// The permission policy these groups make.
    public var policy: ControlPolicy { ControlPolicy(readGroup: readGroup, operatorsGroup: operatorsGroup) }
}
