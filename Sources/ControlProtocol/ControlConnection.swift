import Dispatch
import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A client connection to lampd's control socket (lampctl and tests).
///
/// Its calls block (connect, send, receive with a timeout): run them on a
/// thread of your own or through `ControlConnection.perform`, never directly
/// on the cooperative pool. Requests from several threads are served one
/// after the other.
public final class ControlConnection: @unchecked Sendable {
    // @unchecked Sendable: `buffer` and `nextID` are only touched under `lock`,
    // which is held for one whole request/answer exchange.
    private let fd: Int32
    private let lock = Mutex(())
    private var buffer = Data()
    private var nextID = 1
    /// What each request claims about the person behind it (unverified by lampd).
    public let client: ClaimedOrigin?

    /// Connects to `path`; throws `daemon-unreachable` when nobody listens there.
    public init(path: String, timeout: Duration = .seconds(5), client: ClaimedOrigin? = nil) throws(ControlSocketError) {
        do {
            fd = try UnixSocket.connect(to: path)
        } catch {
            let message: String
            switch error.errno {
            case ENOENT?, ECONNREFUSED?:
                message = "lampd is not running or its socket \(path) is missing — check `systemctl status lampd`"
            case EACCES?:
                message = "no permission to open \(path) — ask to be added to group lampd (then log in again) or use sudo"
            default:
                message = "cannot reach lampd on \(path): \(error.message) — check `systemctl status lampd`"
            }
            throw ControlSocketError("daemon-unreachable", message, errno: error.errno)
        }
        self.client = client
        UnixSocket.setTimeouts(fd, receive: timeout, send: timeout)
    }

    deinit { close(fd) }

    /// Sends one raw line (a newline is added) and returns the answer line, without parsing it.
    public func exchange(line: Data) throws(ControlSocketError) -> Data {
        try lock.withLock { _ throws(ControlSocketError) -> Data in
            guard UnixSocket.sendAll(fd, line + Data("\n".utf8)) else {
                // lampd may have answered and hung up before reading (busy, request too large): read that answer.
                let sendError = errno
                if let answer = try? readLine() { return answer }
                throw ControlSocketError("daemon-unreachable", "lampd closed the connection — check `systemctl status lampd`", errno: sendError)
            }
            return try readLine()
        }
    }

    /// Sends a request and returns lampd's response (which may be an error answer).
    public func send(_ command: String, arguments: JSONValue? = nil, version: Int = ControlProtocol.version) throws(ControlSocketError) -> ControlResponse {
        let id = lock.withLock { _ -> Int in
            defer { nextID += 1 }
            return nextID
        }
        let request = ControlRequest(v: version, id: .number(Double(id)), command: command, arguments: arguments, client: client)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let line: Data
        do { line = try encoder.encode(request) } catch {
            throw ControlSocketError("bad-request", "the request could not be encoded: \(error)")
        }
        let answer = try exchange(line: line)
        do {
            return try JSONDecoder().decode(ControlResponse.self, from: answer)
        } catch {
            throw ControlSocketError("bad-answer", "lampd answered something that is not protocol JSON: \(String(decoding: answer.prefix(200), as: UTF8.self))")
        }
    }

    /// Sends a typed request and returns lampd's response (which may be an error answer).
    public func send<Request: ControlCommandRequest>(_ request: Request) throws(ControlSocketError) -> ControlResponse {
        let arguments: JSONValue
        do { arguments = try JSONValue(encoding: request) } catch {
            throw ControlSocketError("bad-request", "the \(Request.command) request could not be encoded: \(error)")
        }
        return try send(Request.command, arguments: arguments)
    }

    /// A successful answer's `result` as `Result`; `bad-answer` when it is not of that shape
    /// (a lampd of another version), never a trap.
    public static func decode<Result: Decodable>(_ result: JSONValue?, as type: Result.Type, command: String) throws(ControlSocketError) -> Result {
        do {
            return try (result ?? .null).decode(Result.self)
        } catch {
            throw ControlSocketError("bad-answer", "lampd's answer to \(command) is not what this lampctl expects (\(error)) — use the lampctl installed with this lampd")
        }
    }

    /// Reads up to the next newline (call with `lock` held).
    private func readLine() throws(ControlSocketError) -> Data {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[buffer.startIndex..<newline])
                buffer = Data(buffer[(newline + 1)...])
                return line
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw ControlSocketError("daemon-timeout", "lampd did not answer in time — it may be overloaded; check `systemctl status lampd` and `journalctl -u lampd`", errno: errno)
            } else {
                throw ControlSocketError("daemon-unreachable", "lampd closed the connection without an answer — check `systemctl status lampd`", errno: count < 0 ? errno : nil)
            }
        }
    }

    /// Runs blocking connection work on a thread of its own and awaits the result.
    public static func perform<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            // A queue of its own, as for every blocking call in Hardware: Dispatch gives it a thread.
            DispatchQueue(label: "lampd.control.client").async {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
        }
    }
}
