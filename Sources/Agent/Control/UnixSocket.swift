import SystemSupport
import ControlProtocol
import FoundationEssentials
#if canImport(Glibc)
import Glibc
import Telemetry
#endif

/// The server's POSIX calls behind the control socket (the client's are in ControlProtocol).
/// All of them block: call them from the control server's own threads, never from the
/// cooperative pool.
extension UnixSocket {
    /// Binds and listens on `path` with file mode `mode`, after removing a
    /// stale socket file left by a lampd that died. Refuses to take the path
    /// over while another process still answers on it.
    static func listen(at path: String, mode: mode_t, group: gid_t?) throws(ControlSocketError) -> Int32 {
        let directory = FilePaths.directory(of: path)
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        var status = stat()
        if lstat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFSOCK else {
                throw ControlSocketError("socket-in-use", "\(path) exists and is not a socket — remove it or choose another --socket path")
            }
            if let probe = try? connect(to: path) {
                close(probe)
                throw ControlSocketError("socket-in-use", "another lampd already answers on \(path) — stop it first (systemctl stop lampd) or choose another --socket path")
            }
            unlink(path)  // stale: nobody listens
        }
        let fd = try call("socket()") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            let address = try address(path)
            try call("cannot create the control socket \(path) (check that lampd may write to \(directory))") {
                withSockaddr(address) { bind(fd, $0, $1) }
            }
            try call("chmod \(path)") { chmod(path, mode) }
            // Best effort: the read group may connect. Under systemd (User=lampd, Group=lampd) the socket
            // already has that group, and chown is filtered (SystemCallFilter=~@privileged), so only call it when needed.
            if let group, group != getegid() { _ = chown(path, getuid(), group) }
            try call("listen on \(path)") { Glibc.listen(fd, 64) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// The peer's uid, gid and pid (SO_PEERCRED).
    static func peerCredentials(_ fd: Int32) throws(ControlSocketError) -> PeerCredentials {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit fields on Linux.
        var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        try call("SO_PEERCRED") { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) }
        return PeerCredentials(uid: credentials.1, gid: credentials.2, pid: credentials.0)
    }
}

extension PeerCredentials {
    /// The credentials of the process at the other end of the connected Unix socket `fd` (SO_PEERCRED).
    public static func of(socket fd: Int32) throws(ControlSocketError) -> PeerCredentials {
        try UnixSocket.peerCredentials(fd)
    }
}
