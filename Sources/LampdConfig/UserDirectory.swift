#if canImport(Glibc)
import Glibc
#endif

/// Looks up users and groups (the passwd and group databases); a fake in tests.
public protocol UserDirectory: Sendable {
    /// The login name of `uid`, nil if it has none.
    func userName(uid: UInt32) -> String?
    /// The gid of the group called `name`, nil if there is no such group.
    func groupID(named name: String) -> UInt32?
    /// Every group `uid` belongs to (primary and supplementary), empty if the uid has no passwd entry.
    func groupIDs(ofUID uid: UInt32) -> Set<UInt32>
}

/// The board's passwd and group databases (getpwuid_r, getgrnam_r, getgrouplist).
public struct SystemUserDirectory: UserDirectory {
    public init() {}

    public func userName(uid: UInt32) -> String? {
        passwd(uid: uid)?.name
    }

    public func groupID(named name: String) -> UInt32? {
        var group = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getgrnam_r(name, &group, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return group.gr_gid
    }

    public func groupIDs(ofUID uid: UInt32) -> Set<UInt32> {
        guard let entry = passwd(uid: uid) else { return [] }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(entry.name, entry.gid, &groups, &count) == -1 {
            // count now holds the number needed.
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(entry.name, entry.gid, &groups, &count) != -1 else { return [entry.gid] }
        }
        return Set(groups.prefix(Int(count))).union([entry.gid])
    }

    private func passwd(uid: UInt32) -> (name: String, gid: UInt32)? {
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        // pw_name points into `buffer`: read it while the buffer is pinned.
        return buffer.withUnsafeMutableBufferPointer { storage -> (name: String, gid: UInt32)? in
            var entry = Glibc.passwd()
            var result: UnsafeMutablePointer<Glibc.passwd>?
            guard getpwuid_r(uid, &entry, storage.baseAddress!, storage.count, &result) == 0, result != nil,
                  let name = entry.pw_name else { return nil }
            return (String(cString: name), entry.pw_gid)
        }
    }
}
