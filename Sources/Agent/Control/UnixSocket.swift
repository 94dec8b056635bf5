import FoundationEssentials
#if canImport(Glibc)
import Glibc
import Telemetry
#endif

/// A control-socket system call that failed, with the errno kept and a
/// message a technician can act on.
public struct ControlSocketError: Error, CustomStringConvertible, Sendable {
    /// Stable identifier: `socket-path-too-long`, `socket-in-use`, `socket-failed`.
    public var code: String
    public var message: String
    /// errno of the failed call, if one failed.
    public var errno: Int32?

    public var description: String { message }

    init(_ code: String, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }
}

/// The POSIX calls behind the control socket, each in one small function
/// that turns errno into a `ControlSocketError` (STYLE.md rule 4). All of
/// them block: call them from the control server's own threads, never from
/// the cooperative pool.
enum UnixSocket {
    /// Runs a call that returns -1 and sets errno on failure, retrying on EINTR.
    @discardableResult
    static func call(_ what: @autoclosure () -> String, _ body: () -> Int32) throws(ControlSocketError) -> Int32 {
        while true {
            let result = body()
            if result != -1 { return result }
            let error = Glibc.errno
            if error == EINTR { continue }
            throw ControlSocketError("socket-failed", "\(what()): \(String(cString: strerror(error)))", errno: error)
        }
    }

    /// A `sockaddr_un` for `path`; throws if the path does not fit.
    static func address(_ path: String) throws(ControlSocketError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw ControlSocketError("socket-path-too-long", "the socket path \(path) is \(bytes.count) bytes; Unix sockets allow at most \(capacity - 1) — choose a shorter --socket path")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// Passes `address` to a C call that takes a `sockaddr *` and its length.
    static func withSockaddr(_ address: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = address
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Connects a new stream socket to `path`; returns its descriptor.
    static func connect(to path: String) throws(ControlSocketError) -> Int32 {
        let fd = try call("socket()") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            let address = try address(path)
            try call("connect to \(path)") { withSockaddr(address) { Glibc.connect(fd, $0, $1) } }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

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

    /// Sets receive and send timeouts so a silent client cannot hold a thread forever.
    static func setTimeouts(_ fd: Int32, receive: Duration, send: Duration) {
        for (option, duration) in [(SO_RCVTIMEO, receive), (SO_SNDTIMEO, send)] {
            let (seconds, attoseconds) = duration.components
            var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
            _ = setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// Writes all of `data`; false if the peer went away or the send timed out.
    static func sendAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let sent = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += sent
            }
            return true
        }
    }
}

extension PeerCredentials {
    /// The credentials of the process at the other end of the connected Unix socket `fd` (SO_PEERCRED).
    public static func of(socket fd: Int32) throws(ControlSocketError) -> PeerCredentials {
        try UnixSocket.peerCredentials(fd)
    }
}
