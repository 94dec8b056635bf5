import Dispatch
import FoundationEssentials
import Logging
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where and how the control server listens.
public struct ControlServerConfiguration: Sendable {
    /// Path of the Unix socket (default `/run/lampd/control.sock`).
    public var socketPath: String
    /// File mode of the socket (default 0660: lampd's user and group).
    public var socketMode: UInt32
    /// Connections served at once; one more gets a `busy` answer and is closed.
    public var maximumConnections: Int
    /// A connection that sends nothing for this long is closed.
    public var idleTimeout: Duration
    /// Longest request line, in bytes.
    public var maximumRequestBytes: Int
    /// Who may run what.
    public var policy: ControlPolicy
    /// Called once the socket listens, or its creation failed and was logged (lampd is ready either
    /// way: light first). lampd's `StartupGate` waits for it before `READY=1`.
    public var onStarted: @Sendable () -> Void = {}

    public init(
        socketPath: String = ControlProtocol.defaultSocketPath,
        socketMode: UInt32 = 0o660,
        maximumConnections: Int = 16,
        idleTimeout: Duration = .seconds(30),
        maximumRequestBytes: Int = ControlProtocol.maximumRequestBytes,
        policy: ControlPolicy = ControlPolicy()
    ) {
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.maximumConnections = maximumConnections
        self.idleTimeout = idleTimeout
        self.maximumRequestBytes = maximumRequestBytes
        self.policy = policy
    }
}

/// lampd's control socket: answers lampctl's newline-delimited JSON requests
/// (docs/control-protocol.md) with the commands in a `ControlCommandRegistry`.
///
/// Sockets are plain POSIX, served by one accept queue and one Dispatch queue
/// (so one thread) per connection (at most `maximumConnections`), so no blocking call runs on
/// Swift's cooperative pool; handlers run as tasks. Nothing a client sends
/// stops lampd: bad lines get an error answer, oversized ones close the
/// connection. If the socket cannot be created lampd keeps running (light
/// first) and logs why.
public final class ControlServer: Service, Sendable {
    public let configuration: ControlServerConfiguration
    private let commands: ControlCommandRegistry
    private let audit: ControlAuditTrail
    private let directory: any UserDirectory
    private let logger: Logger

    private struct State {
        var listener: Int32 = -1
        var stopping = false
        var connections: Set<Int32> = []
    }
    private let state = Mutex(State())

    public init(
        configuration: ControlServerConfiguration,
        commands: ControlCommandRegistry,
        audit: ControlAuditTrail,
        directory: any UserDirectory = SystemUserDirectory(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.commands = commands
        self.audit = audit
        self.directory = directory
        self.logger = logger
    }

    /// Serves until graceful shutdown, then removes the socket file.
    public func run() async throws {
        do {
            try start()
            logger.notice("control socket ready", metadata: ["socket": "\(configuration.socketPath)"])
        } catch {
            logger.error("control socket unavailable; lampctl cannot reach lampd, the lamp is not affected",
                         metadata: ["socket": "\(configuration.socketPath)", "error": "\(error.description)"])
        }
        configuration.onStarted()
        try? await gracefulShutdown()
        stop()
    }

    /// Creates the socket and starts the accept thread.
    public func start() throws(ControlSocketError) {
        let group = directory.groupID(named: configuration.policy.readGroup)
        let fd = try UnixSocket.listen(at: configuration.socketPath, mode: mode_t(configuration.socketMode), group: group)
        state.withLock { $0.listener = fd; $0.stopping = false }
        DispatchQueue(label: "lampd.control.accept").async { [self] in acceptLoop(fd) }
    }

    /// Stops accepting, hangs up every connection and removes the socket file.
    public func stop() {
        let wasListening = state.withLock { state -> Bool in
            guard !state.stopping, state.listener >= 0 else { return false }
            state.stopping = true
            // Wake the threads; each closes its own descriptor. Done under the lock, so no
            // thread can close a descriptor (and the number be reused) before it is shut down.
            shutdown(state.listener, Int32(SHUT_RDWR))
            for fd in state.connections { shutdown(fd, Int32(SHUT_RDWR)) }
            return true
        }
        if wasListening { unlink(configuration.socketPath) }
    }

    private func acceptLoop(_ listener: Int32) {
        defer { close(listener) }
        while true {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 250)
            if state.withLock({ $0.stopping }) { return }
            guard ready > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else {
                if errno == EMFILE || errno == ENFILE { usleep(100_000) }
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // accept4 is not in Swift's Glibc module
            let limit = configuration.maximumConnections
            let admitted = state.withLock { state -> Bool in
                guard !state.stopping, state.connections.count < limit else { return false }
                state.connections.insert(fd)
                return true
            }
            guard admitted else {
                UnixSocket.setTimeouts(fd, receive: .seconds(1), send: .seconds(1))
                _ = UnixSocket.sendAll(fd, ControlResponse(id: nil, error: .busy(limit: limit)).line() + Data("\n".utf8))
                close(fd)
                logger.warning("control connection refused: busy", metadata: ["limit": "\(limit)"])
                continue
            }
            DispatchQueue(label: "lampd.control.connection").async { [self] in
                serve(fd)
                state.withLock { _ = $0.connections.remove(fd) }
                close(fd)
            }
        }
    }

    /// Reads request lines from one connection and answers each, until the
    /// client closes, idles out, or sends an oversized line.
    private func serve(_ fd: Int32) {
        let credentials: PeerCredentials
        do {
            credentials = try UnixSocket.peerCredentials(fd)
        } catch {
            logger.warning("control connection without peer credentials", metadata: ["error": "\(error.description)"])
            return
        }
        UnixSocket.setTimeouts(fd, receive: configuration.idleTimeout, send: .seconds(5))
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<newline]
                buffer = Data(buffer[(newline + 1)...])
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
                guard line.count <= configuration.maximumRequestBytes else {
                    _ = UnixSocket.sendAll(fd, ControlResponse(id: nil, error: .requestTooLarge).line() + Data("\n".utf8))
                    return
                }
                let response = respondWaiting(to: Data(line), from: credentials)
                guard UnixSocket.sendAll(fd, response.line() + Data("\n".utf8)) else { return }
                continue
            }
            if buffer.count > configuration.maximumRequestBytes {
                _ = UnixSocket.sendAll(fd, ControlResponse(id: nil, error: .requestTooLarge).line() + Data("\n".utf8))
                logger.warning("control request too large; connection closed", metadata: ["pid": "\(credentials.pid)", "uid": "\(credentials.uid)"])
                return
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return  // closed, idle timeout (EAGAIN) or shut down
            }
        }
    }

    /// Bridges a connection thread to the async handlers: this thread waits,
    /// the handler runs as a task.
    private func respondWaiting(to line: Data, from credentials: PeerCredentials) -> ControlResponse {
        let answer = Mutex<ControlResponse?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task { [self] in
            let response = await respond(to: line, from: credentials)
            answer.withLock { $0 = response }
            done.signal()
        }
        // A handler that hangs must not hold this connection forever.
        if done.wait(timeout: .now() + .seconds(10)) == .timedOut {
            logger.error("control command did not finish within 10 s", metadata: ["pid": "\(credentials.pid)"])
            return ControlResponse(id: nil, error: ControlError(code: "timeout", message: "lampd did not finish the command within 10 s; see `journalctl -u lampd`"))
        }
        return answer.withLock { $0 } ?? ControlResponse(id: nil, error: ControlError(code: "internal", message: "no answer"))
    }

    /// Answers one request line from a caller with `credentials`: parses it,
    /// checks version, command and permission, runs the handler and audits
    /// `.operate` commands. Never throws: every failure is an error response.
    public func respond(to line: Data, from credentials: PeerCredentials) async -> ControlResponse {
        let parsed: (id: JSONValue?, request: ControlRequest)
        do {
            parsed = try Self.parse(line)
        } catch let failure {
            return ControlResponse(id: failure.id, error: failure.error)
        }
        let (id, request) = parsed
        guard let handler = commands.handler(for: request.command) else {
            return ControlResponse(id: id, error: .unknownCommand(request.command, known: commands.commands))
        }
        let caller = ControlCaller(credentials: credentials, userName: directory.userName(uid: credentials.uid), claimed: request.client)
        let arguments = request.arguments ?? .object([:])
        do {
            try configuration.policy.authorise(handler.permission, credentials: credentials, directory: directory)
        } catch {
            if handler.permission == .operate {
                audit.record(command: request.command, arguments: arguments, caller: caller, refusal: error)
            }
            logger.info("control command refused", metadata: ["command": "\(request.command)", "uid": "\(credentials.uid)"])
            return ControlResponse(id: id, error: error)
        }
        let response: ControlResponse
        do {
            let result = try await handler.handle(ControlCall(arguments: arguments, caller: caller))
            response = ControlResponse(id: id, result: result)
        } catch let error as ControlError {
            response = ControlResponse(id: id, error: error)
        } catch {
            logger.error("control command failed", metadata: ["command": "\(request.command)", "error": "\(error)"])
            response = ControlResponse(id: id, error: ControlError(code: "internal", message: "\(request.command) failed: \(error)"))
        }
        if handler.permission == .operate {
            audit.record(command: request.command, arguments: arguments, caller: caller, refusal: response.error)
        }
        return response
    }

    struct ParseFailure: Error {
        var id: JSONValue?
        var error: ControlError
    }

    /// Reads a request line; errors carry the request's id when it could be read.
    static func parse(_ line: Data) throws(ParseFailure) -> (id: JSONValue?, request: ControlRequest) {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: line) else {
            throw ParseFailure(error: .malformedRequest("the line is not JSON"))
        }
        guard case .object(let members) = value else {
            throw ParseFailure(error: .malformedRequest("expected a JSON object"))
        }
        let id = members["id"]
        guard let versionNumber = members["v"]?.numberValue, let version = Int(exactly: versionNumber) else {
            throw ParseFailure(id: id, error: .malformedRequest("\"v\" (the protocol version, a number) is missing"))
        }
        guard version == ControlProtocol.version else {
            throw ParseFailure(id: id, error: .unsupportedVersion(version))
        }
        guard let command = members["command"]?.stringValue, !command.isEmpty else {
            throw ParseFailure(id: id, error: .malformedRequest("\"command\" (a string) is missing"))
        }
        let arguments = members["arguments"]
        if let arguments, arguments != .null {
            guard case .object = arguments else {
                throw ParseFailure(id: id, error: .malformedRequest("\"arguments\" must be a JSON object"))
            }
        }
        // The client's claims are optional and unverified: ignore a malformed one.
        let client = try? members["client"]?.decode(ClaimedOrigin.self)
        return (id, ControlRequest(v: version, id: id, command: command,
                                   arguments: arguments == .null ? nil : arguments, client: client ?? nil))
    }
}
