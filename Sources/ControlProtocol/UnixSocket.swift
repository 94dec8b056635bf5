import SystemSupport
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// A control-socket system call that failed, with the errno kept and a
/// message a technician can act on.
public struct ControlSocketError: ActionableError {
    /// Stable identifier: `socket-path-too-long`, `socket-in-use`, `socket-failed`.
    public var code: String
    /// What went wrong and what to do, in a technician's words.
    public var message: String
    /// errno of the failed call, if one failed.
    public var errno: Int32?

    public var description: String { message }

    package init(_ code: String, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }
}

/// The POSIX calls behind the control socket, each in one small function
/// that turns errno into a `ControlSocketError` (STYLE.md rule 4). All of
/// them block: call them from a thread of their own, never from the
/// cooperative pool. The server's calls (listen, peer credentials) extend it in Agent.
package enum UnixSocket {
    /// Runs a call that returns -1 and sets errno on failure, retrying on EINTR.
    @discardableResult
    package static func call(_ what: @autoclosure () -> String, _ body: () -> Int32) throws(ControlSocketError) -> Int32 {
        while true {
            let result = body()
            if result != -1 { return result }
            let error = Glibc.errno
            if error == EINTR { continue }
            throw ControlSocketError("socket-failed", "\(what()): \(String(cString: strerror(error)))", errno: error)
        }
    }

    /// A `sockaddr_un` for `path`; throws if the path does not fit.
    package static func address(_ path: String) throws(ControlSocketError) -> sockaddr_un {
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
    package static func withSockaddr(_ address: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = address
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Connects a new stream socket to `path`; returns its descriptor.
    package static func connect(to path: String) throws(ControlSocketError) -> Int32 {
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

    /// Sets receive and send timeouts so a silent client cannot hold a thread forever.
    package static func setTimeouts(_ fd: Int32, receive: Duration, send: Duration) {
        for (option, duration) in [(SO_RCVTIMEO, receive), (SO_SNDTIMEO, send)] {
            // Checked: `Int` is 32 bits on armhf, and a negative duration means no wait at all.
            let (seconds, attoseconds) = max(duration, .zero).components
            var value = timeval(tv_sec: Int(clamping: seconds), tv_usec: Int(clamping: attoseconds / 1_000_000_000_000))
            _ = setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// Writes all of `data`; false if the peer went away or the send timed out.
    package static func sendAll(_ fd: Int32, _ data: Data) -> Bool {
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
