import Foundation
import Glibc
import Clocks

/// Asks lampd over its control socket from inside the test (docs/control-protocol.md): one JSON
/// line out, one back. Cheaper than starting `lampctl` when a test re-asks lampd for a state, and
/// the blocking socket calls run on a thread of their own.
public struct ControlClient: Sendable {
    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    /// Why a request got no answer.
    public struct Failure: Error, CustomStringConvertible {
        public var errno: Int32
        public var step: String
        public var description: String { "control socket: \(step): \(String(cString: strerror(errno)))" }
    }

    /// Sends `command` with `arguments` (a JSON object's text) and returns the response object.
    public func request(_ command: String, arguments: String = "{}") async throws -> [String: Any] {
        let line = #"{"v":1,"id":1,"command":"\#(command)","arguments":\#(arguments),"client":{"tool":"lampd tests"}}"# + "\n"
        let path = socketPath
        let answer = try await DedicatedThread.run { try Self.exchange(line, path: path) }
        let object = try JSONSerialization.jsonObject(with: Data(answer.utf8))
        return object as? [String: Any] ?? [:]
    }

    /// The `result` of `command`, or nil when lampd answered with an error.
    public func result(_ command: String, arguments: String = "{}") async throws -> [String: Any]? {
        try await request(command, arguments: arguments)["result"] as? [String: Any]
    }

    /// Connects, sends `line`, reads one line back (blocking: call on a dedicated thread).
    public static func exchange(_ line: String, path: String) throws -> String {
        let fd = try connect(path: path)
        defer { close(fd) }
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(errno: errno, step: "send")
            }
            offset += written
        }
        bytes = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !bytes.contains(UInt8(ascii: "\n")) {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(errno: errno, step: "recv")
            }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    /// A connected stream socket (blocking; SO_RCVTIMEO is the hang guard).
    public static func connect(path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(errno: errno, step: "socket") }
        var timeout = timeval(tv_sec: Int(HangGuard.duration.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            path.utf8CString.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(buffer.count - 1))) }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let failure = Failure(errno: errno, step: "connect \(path)")
            close(fd)
            throw failure
        }
        return fd
    }
}
