import ControlProtocol
import Clocks
import LampdConfig
import Dispatch
import FoundationEssentials
import Logging
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
import Telemetry
#endif

/// Where and how the control server listens.
public struct ControlServerConfiguration: Sendable {
    /// Path of the Unix socket (default `/run/lampd/control.sock`).
    public var socketPath: String
    /// File mode of the socket (default 0660: lampd's user and group).
    public var socketMode: UInt32
    /// Connections served at once; one more gets a `busy` answer and is closed.
    public var maximumConnections: Int
    /// Of `maximumConnections`, the slots kept for root and the operators group: read-only
    /// clients get `busy` once the others are taken.
    public var reservedConnections: Int
    /// A connection that sends nothing between requests for this long is closed.
    public var idleTimeout: Duration
    /// A request line must arrive whole within this from its first byte; else the client gets
    /// `request-timeout` and the connection is closed (a client dripping bytes cannot hold a slot).
    public var requestDeadline: Duration
    /// How long a command may take before the client gets `timeout`, unless the command asks
    /// for longer (`ControlHandler.timeLimit(for:)`, e.g. `sync.now`).
    public var commandTimeLimit: Duration
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
        reservedConnections: Int = 2,
        idleTimeout: Duration = .seconds(30),
        requestDeadline: Duration = .seconds(10),
        commandTimeLimit: Duration = .seconds(10),
        maximumRequestBytes: Int = ControlProtocol.maximumRequestBytes,
        policy: ControlPolicy = ControlPolicy()
    ) {
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.maximumConnections = maximumConnections
        self.reservedConnections = reservedConnections
        self.idleTimeout = idleTimeout
        self.requestDeadline = requestDeadline
        self.commandTimeLimit = commandTimeLimit
        self.maximumRequestBytes = maximumRequestBytes
        self.policy = policy
    }
}

/// lampd's control socket: answers lampctl's newline-delimited JSON requests
/// (docs/control-protocol.md) with the commands in a `ControlCommandRegistry`.
///
/// Sockets are plain POSIX, served by one accept queue and one Dispatch queue
/// (so one thread) per connection (at most `maximumConnections`, some kept for
/// root and operators: `ControlAdmission`), so no blocking call runs on
/// Swift's cooperative pool; handlers run as tasks. Nothing a client sends
/// stops lampd: bad lines get an error answer, oversized or too slow ones close
/// the connection. If the socket cannot be created lampd keeps running (light
/// first) and logs why.
public final class ControlServer: Service, Sendable {
    public let configuration: ControlServerConfiguration
    private let commands: ControlCommandRegistry
    let audit: ControlAuditTrail
    private let directory: any UserDirectory
    private let logger: Logger
    /// The peer of an accepted connection (SO_PEERCRED; tests substitute made-up users).
    private let identify: @Sendable (Int32) throws -> PeerCredentials

    private struct State {
        var listener: Int32 = -1
        var stopping = false
        var connections: Set<Int32> = []
        var admission: ControlAdmission
    }
    private let state: Mutex<State>

    public convenience init(
        configuration: ControlServerConfiguration,
        commands: ControlCommandRegistry,
        audit: ControlAuditTrail,
        directory: any UserDirectory = SystemUserDirectory(),
        logger: Logger
    ) {
        self.init(configuration: configuration, commands: commands, audit: audit, directory: directory, logger: logger,
                  identify: { fd in try UnixSocket.peerCredentials(fd) })
    }

    init(
        configuration: ControlServerConfiguration,
        commands: ControlCommandRegistry,
        audit: ControlAuditTrail,
        directory: any UserDirectory,
        logger: Logger,
        identify: @escaping @Sendable (Int32) throws -> PeerCredentials
    ) {
        self.configuration = configuration
        self.commands = commands
        self.audit = audit
        self.directory = directory
        self.logger = logger
        self.identify = identify
        self.state = Mutex(State(admission: ControlAdmission(
            maximum: configuration.maximumConnections, reserved: configuration.reservedConnections)))
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
        if wasListening {
            unlink(configuration.socketPath)
            audit.closeAllWindows()
        }
    }

    private func acceptLoop(_ listener: Int32) {
        defer { close(listener) }
        while true {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 250)
            if state.withLock({ $0.stopping }) { return }
            audit.closeExpiredWindows()
            guard ready > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else {
                if errno == EMFILE || errno == ENFILE { usleep(100_000) }
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // accept4 is not in Swift's Glibc module
            admit(fd)
        }
    }

    /// Gives an accepted connection a slot and a thread, or answers `busy` and closes it.
    private func admit(_ fd: Int32) {
        let credentials: PeerCredentials
        do {
            credentials = try identify(fd)
        } catch {
            logger.warning("control connection without peer credentials", metadata: ["error": "\(error)"])
            close(fd)
            return
        }
        // Root and the operators group may use the reserved slots.
        let privileged = (try? configuration.policy.authorise(.operate, credentials: credentials, directory: directory)) != nil
        let (admitted, limit) = state.withLock { state -> (Bool, Int) in
            let limit = privileged ? state.admission.maximum : state.admission.unprivilegedLimit
            guard !state.stopping, state.admission.admit(privileged: privileged) else { return (false, limit) }
            state.connections.insert(fd)
            return (true, limit)
        }
        guard admitted else {
            UnixSocket.setTimeouts(fd, receive: .seconds(1), send: .seconds(1))
            let reserved = configuration.maximumConnections - limit
            _ = UnixSocket.sendAll(fd, ControlResponse(id: nil, error: .busy(limit: limit, reserved: privileged ? 0 : reserved)).line() + Data("\n".utf8))
            close(fd)
            logger.warning("control connection refused: busy", metadata: ["limit": "\(limit)", "uid": "\(credentials.uid)"])
            return
        }
        DispatchQueue(label: "lampd.control.connection").async { [self] in
            serve(fd, credentials: credentials)
            state.withLock {
                _ = $0.connections.remove(fd)
                $0.admission.release(privileged: privileged)
            }
            close(fd)
        }
    }

    /// Reads request lines from one connection and answers each, until the client closes,
    /// idles out, takes longer than `requestDeadline` to send a line, or sends an oversized one.
    private func serve(_ fd: Int32, credentials: PeerCredentials) {
        UnixSocket.setTimeouts(fd, receive: .seconds(1), send: .seconds(5))
        let clock = ContinuousClock()
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 8192)
        var idleSince = clock.now
        var lineStarted: ContinuousClock.Instant?  // first byte of the line not yet answered
        func answer(_ response: ControlResponse) -> Bool {
            UnixSocket.sendAll(fd, response.line() + Data("\n".utf8))
        }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<newline]
                buffer = Data(buffer[(newline + 1)...])
                lineStarted = buffer.isEmpty ? nil : clock.now
                idleSince = clock.now
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
                guard line.count <= configuration.maximumRequestBytes else {
                    _ = answer(ControlResponse(id: nil, error: .requestTooLarge))
                    return
                }
                guard answer(respondWaiting(to: Data(line), from: credentials)) else { return }
                idleSince = clock.now
                if lineStarted != nil { lineStarted = clock.now }
                continue
            }
            if buffer.count > configuration.maximumRequestBytes {
                _ = answer(ControlResponse(id: nil, error: .requestTooLarge))
                logger.warning("control request too large; connection closed", metadata: ["pid": "\(credentials.pid)", "uid": "\(credentials.uid)"])
                return
            }
            let deadline = lineStarted.map { $0 + configuration.requestDeadline } ?? idleSince + configuration.idleTimeout
            let remaining = deadline - clock.now
            guard remaining > .zero else {
                if lineStarted != nil {
                    _ = answer(ControlResponse(id: nil, error: .requestTimeout(configuration.requestDeadline)))
                    logger.warning("control request not complete in time; connection closed",
                                   metadata: ["pid": "\(credentials.pid)", "uid": "\(credentials.uid)"])
                }
                return  // idle, or too slow
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(clamping: remaining.milliseconds + 1))
            if ready < 0 && errno != EINTR { return }
            guard ready > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                if lineStarted == nil { lineStarted = clock.now }
                buffer.append(contentsOf: chunk[0..<count])
            } else if count < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue
            } else {
                return  // closed or shut down
            }
        }
    }

    /// Bridges a connection thread to the async handlers: this thread waits (at most the
    /// command's time limit), the handler runs as a task.
    private func respondWaiting(to line: Data, from credentials: PeerCredentials) -> ControlResponse {
        let call: PreparedCall
        do {
            call = try prepare(line, from: credentials)
        } catch {
            return ControlResponse(id: error.id, error: error.error)
        }
        let answer = Mutex<ControlResponse?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task { [self] in
            let response = await execute(call)
            answer.withLock { $0 = response }
            done.signal()
        }
        // A handler that hangs must not hold this connection forever.
        let limit = call.handler.timeLimit(for: call.arguments) ?? configuration.commandTimeLimit
        if done.wait(timeout: .now() + .milliseconds(Int(clamping: limit.milliseconds))) == .timedOut {
            logger.error("control command did not finish in time",
                         metadata: ["command": "\(call.request.command)", "limit": "\(DurationText.format(limit))", "pid": "\(credentials.pid)"])
            return ControlResponse(id: call.id, error: .commandTimeout(call.request.command, limit: limit))
        }
        return answer.withLock { $0 } ?? ControlResponse(id: call.id, error: ControlError(code: "internal", message: "no answer"))
    }

    /// A request that was read and names a known command.
    struct PreparedCall: Sendable {
        var id: JSONValue?
        var request: ControlRequest
        var handler: any ControlHandler
        var arguments: JSONValue
        var caller: ControlCaller
    }

    /// Reads a request line and finds its command; errors carry the request's id when it could be read.
    func prepare(_ line: Data, from credentials: PeerCredentials) throws(ParseFailure) -> PreparedCall {
        let (id, request) = try Self.parse(line)
        guard let handler = commands.handler(for: request.command) else {
            throw ParseFailure(id: id, error: .unknownCommand(request.command, known: commands.commands))
        }
        let caller = ControlCaller(credentials: credentials, userName: directory.userName(uid: credentials.uid), claimed: request.client)
        return PreparedCall(id: id, request: request, handler: handler, arguments: request.arguments ?? .object([:]), caller: caller)
    }

    /// Answers one request line from a caller with `credentials`: parses it,
    /// checks version, command and permission, runs the handler and audits
    /// `.operate` commands. Never throws: every failure is an error response.
    public func respond(to line: Data, from credentials: PeerCredentials) async -> ControlResponse {
        do {
            return await execute(try prepare(line, from: credentials))
        } catch {
            return ControlResponse(id: error.id, error: error.error)
        }
    }

    /// Checks the caller's permission, runs the handler and audits `.operate` commands.
    private func execute(_ call: PreparedCall) async -> ControlResponse {
        let (id, command, handler, caller) = (call.id, call.request.command, call.handler, call.caller)
        do {
            try configuration.policy.authorise(handler.permission, credentials: caller.credentials, directory: directory)
        } catch {
            if handler.permission == .operate {
                audit.record(command: command, arguments: call.arguments, caller: caller, refusal: error)
            } else {
                logger.info("control command refused", metadata: ["command": "\(command)", "uid": "\(caller.credentials.uid)"])
            }
            return ControlResponse(id: id, error: error)
        }
        let response: ControlResponse
        do {
            let result = try await handler.handle(ControlCall(arguments: call.arguments, caller: caller))
            response = ControlResponse(id: id, result: result)
        } catch let error as ControlError {
            response = ControlResponse(id: id, error: error)
        } catch {
            logger.error("control command failed", metadata: ["command": "\(command)", "error": "\(ClientText.label("\(error)", maximumCharacters: 512))"])
            response = ControlResponse(id: id, error: ControlError(code: "internal", message: "\(command) failed: \(error)"))
        }
        if handler.permission == .operate {
            audit.record(command: command, arguments: call.arguments, caller: caller, refusal: response.error)
        }
        return response
    }

    struct ParseFailure: Error, Sendable {
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
