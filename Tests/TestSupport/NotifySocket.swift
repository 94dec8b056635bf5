import Foundation
import Glibc
import Synchronization

/// A Unix datagram socket standing in for systemd's notify socket (`NOTIFY_SOCKET`): lampd's
/// `sd_notify` messages (`READY=1`, `STATUS=…`, `WATCHDOG=1`, `STOPPING=1`) arrive in `messages`,
/// read on a thread of its own, so a test awaits `READY=1` as an event.
public final class NotifySocket: Sendable {
    /// The socket's path: give it to the child as `NOTIFY_SOCKET`.
    public let path: String
    /// Every datagram received, in order (one per `sd_notify` call; lines separated by "\n").
    public let messages: Transcript
    private let fd: Int32
    private let wake: (read: Int32, write: Int32)
    /// Why it was closed (set by `close`), for the waits it ends.
    private let closing = Closing()
    private final class Closing: Sendable {
        let value = Mutex<(reason: String, lastLines: [String]?)?>(nil)
    }

    public init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("lampd-notify-\(UUID().uuidString.prefix(8)).sock").path
        messages = Transcript(source: "the notify socket")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var pipeFDs: [Int32] = [-1, -1]
        guard fd >= 0, pipe(&pipeFDs) == 0 else {
            throw SpawnFailure(executable: "notify socket", reason: String(cString: strerror(errno)))
        }
        for pipeFD in pipeFDs { _ = fcntl(pipeFD, F_SETFD, FD_CLOEXEC) }
        wake = (pipeFDs[0], pipeFDs[1])
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = self.path
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            path.utf8CString.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(buffer.count - 1))) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd); Glibc.close(wake.read); Glibc.close(wake.write)
            throw SpawnFailure(executable: "notify socket", reason: "bind \(path): \(reason)")
        }
        let (socketFD, wakeFD) = (fd, wake.read)
        let messages = self.messages
        let closing = self.closing
        Thread.detachNewThread {
            var descriptors = [pollfd(fd: socketFD, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                if poll(&descriptors, 2, -1) < 0 {
                    if errno == EINTR { continue }
                    break
                }
                if descriptors[1].revents != 0 {
                    // Closed: what was sent before (e.g. by a child that has exited since) still counts.
                    while true {
                        let count = recv(socketFD, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                        if count > 0 { messages.append(String(decoding: buffer[0..<count], as: UTF8.self)) } else { break }
                    }
                    break
                }
                if descriptors[0].revents != 0 {
                    let count = recv(socketFD, &buffer, buffer.count, 0)
                    if count > 0 { messages.append(String(decoding: buffer[0..<count], as: UTF8.self)) }
                }
            }
            Glibc.close(socketFD)
            Glibc.close(wakeFD)
            let reason = closing.value.withLock { $0 } ?? (reason: "the notify socket was closed", lastLines: nil)
            messages.finish(reason: reason.reason, lastLines: reason.lastLines)
        }
    }

    /// Waits for a message with the line `assignment` (e.g. `READY=1`).
    @discardableResult
    public func wait(for assignment: String, from: Int = 0) async throws -> String {
        try await messages.wait(for: "\(assignment) on the notify socket", from: from) {
            $0.split(separator: "\n").contains { $0 == assignment }
        }
    }

    /// Reads what is queued, then stops reading and removes the socket file (idempotent); waits
    /// still open fail naming `reason` and `lastLines` (e.g. the exited child's).
    public func close(reason: String = "the notify socket was closed", lastLines: [String]? = nil) {
        let first = closing.value.withLock { closing -> Bool in
            guard closing == nil else { return false }
            closing = (reason, lastLines)
            return true
        }
        guard first else { return }
        var byte: UInt8 = 0
        _ = Glibc.write(wake.write, &byte, 1)
        Glibc.close(wake.write)
        unlink(path)
    }

    deinit { close() }
}
