import Foundation
import Glibc
import Synchronization
import Clocks

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    /// It called exit with this code.
    case exited(Int32)
    /// A signal ended it (SIGKILL is 9).
    case signalled(Int32)

    /// The exit code, or the signal's number (as Foundation's `terminationStatus` gives it).
    public var code: Int32 {
        switch self {
        case .exited(let code), .signalled(let code): code
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signalled(let signal): "was ended by signal \(signal)"
        }
    }
}

/// A child process started by a test: lampd, lampctl, lamp-ingest, spool-torture, a Python peer, socat.
///
/// Its stdout and stderr are read on a thread of its own, line by line, into `transcript` (and,
/// for long-running children, a log file), so a test waits for a *line* — never for a clock — and a
/// wait fails at once, with the child's last lines, when the child exits first. Its exit is reaped
/// on another dedicated thread; nothing here blocks a thread of Swift's cooperative pool.
///
/// Pipes are created close-on-exec, so a child started at the same moment by another test cannot
/// inherit them and hold them open (which would hide this child's end of output). Each child starts
/// with every signal at its default action and none blocked, whatever the test runner set.
///
/// Short commands: `ChildProcess.run(_:_:)` (returns exit code, stdout and stderr).
/// Long-running ones: `ChildProcess(executable:arguments:)`, then `transcript.wait(…)`,
/// `terminate()`/`interrupt()` and `waitForExit()`.
public final class ChildProcess: Sendable {
    /// What the child reads on stdin.
    public enum Input: Sendable {
        /// /dev/null.
        case none
        /// A pipe the test writes with `write(_:)` and closes with `closeInput()`.
        case pipe
    }

    /// The executable's file name, for messages.
    public let name: String
    public let pid: pid_t
    /// stdout and stderr, line by line, in the order they arrived.
    public let transcript: Transcript

    private struct State {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var exit: ExitStatus?
        var outputEnded = false
        var finished = false
        var exitWaiters: [CheckedContinuation<ExitStatus, Never>] = []
        var inputFD: Int32 = -1
        var logFD: Int32 = -1
        var killedByHangGuard = false
    }
    private let state: Mutex<State>
    private let logPath: String?
    private let inputQueue: DispatchQueue

    /// Starts `executable` (a path) with `arguments`.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment; nil inherits the test's.
    ///   - workingDirectory: nil keeps the test's.
    ///   - input: what stdin is.
    ///   - keepsLog: also write the output to a log file under the temporary directory (named in
    ///     failures; removed when the child ended as expected).
    public init(
        executable: String, arguments: [String], environment: [String: String]? = nil,
        workingDirectory: String? = nil, input: Input = .none, keepsLog: Bool = true
    ) throws {
        Self.ignoreSIGPIPE
        name = URL(fileURLWithPath: executable).lastPathComponent == "env"
            ? (arguments.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "env")
            : URL(fileURLWithPath: executable).lastPathComponent
        var logPath: String?
        var logFD: Int32 = -1
        if keepsLog {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-test-logs")
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let path = folder.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8)).log").path
            logFD = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if logFD >= 0 { logPath = path }
        }
        self.logPath = logPath
        transcript = Transcript(source: name, logFile: logPath)
        inputQueue = DispatchQueue(label: "child-process.stdin")

        // One spawn at a time, so no other child can inherit these pipes between pipe() and
        // FD_CLOEXEC (Glibc's module does not offer pipe2).
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1], inPipe: [Int32] = [-1, -1]
        guard Self.closeOnExecPipe(&outPipe), Self.closeOnExecPipe(&errPipe),
              input == .none || Self.closeOnExecPipe(&inPipe) else {
            let error = SpawnFailure(executable: executable, reason: "pipe2: \(String(cString: strerror(errno)))")
            for fd in outPipe + errPipe + inPipe + [logFD] where fd >= 0 { close(fd) }
            throw error
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input == .pipe {
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        // Nothing else of the test process reaches the child: a descriptor some test opened without
        // close-on-exec (a file filling a disk, a socket) would otherwise live as long as the child.
        if let addClosefrom = Self.addClosefrom { _ = addClosefrom(&actions, 3) }
        if let workingDirectory {
            guard let addChdir = Self.addChdir else {
                throw SpawnFailure(executable: executable, reason: "this C library cannot set a child's working directory")
            }
            _ = addChdir(&actions, workingDirectory)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let environmentList = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = environmentList.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        // The child has its copies; ours of its ends go.
        close(outPipe[1])
        close(errPipe[1])
        if input == .pipe { close(inPipe[0]) }
        guard spawned == 0 else {
            for fd in [outPipe[0], errPipe[0], inPipe[1], logFD] where fd >= 0 { close(fd) }
            throw SpawnFailure(executable: executable, reason: String(cString: strerror(spawned)))
        }
        self.pid = pid
        state = Mutex(State(inputFD: input == .pipe ? inPipe[1] : -1, logFD: logFD))

        let (out, err) = (outPipe[0], errPipe[0])
        Thread.detachNewThread { [self] in readOutput(stdout: out, stderr: err) }
        Thread.detachNewThread { [self] in reap() }
    }

    deinit {
        let state = state.withLock { $0 }
        if state.inputFD >= 0 { close(state.inputFD) }
        if state.logFD >= 0 { close(state.logFD) }
    }

    private static let ignoreSIGPIPE: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()
    private static let spawnLock = NSLock()

    private static func closeOnExecPipe(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// glibc's posix_spawn_file_actions_addchdir_np (2.29+), which Glibc's module does not offer.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addChdir: AddChdir? = {
        dlsym(nil, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }
    }()

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), which Glibc's module does not offer.
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addClosefrom: AddClosefrom? = {
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddClosefrom.self) }
    }()

    /// Reads stdout and stderr until both end (a thread of its own; poll(2) blocks it, nothing else).
    private func readOutput(stdout: Int32, stderr: Int32) {
        var descriptors = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)]
        var partial: [[UInt8]] = [[], []]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var open = 2
        while open > 0 {
            if poll(&descriptors, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in 0..<2 where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let count = read(descriptors[index].fd, &buffer, buffer.count)
                if count > 0 {
                    received(Array(buffer[0..<count]), stream: index, partial: &partial[index])
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    if !partial[index].isEmpty {
                        emit(partial[index])
                        partial[index] = []
                    }
                    close(descriptors[index].fd)
                    descriptors[index].fd = -1
                    open -= 1
                }
            }
        }
        for descriptor in descriptors where descriptor.fd >= 0 { close(descriptor.fd) }
        state.withLock { $0.outputEnded = true }
        finishIfDone()
    }

    private func received(_ bytes: [UInt8], stream: Int, partial: inout [UInt8]) {
        let logFD = state.withLock { state -> Int32 in
            if stream == 0 { state.stdout += bytes } else { state.stderr += bytes }
            return state.logFD
        }
        if logFD >= 0 { bytes.withUnsafeBytes { _ = Glibc.write(logFD, $0.baseAddress, $0.count) } }
        partial += bytes
        while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
            emit(Array(partial[..<newline]))
            partial.removeSubrange(...newline)
        }
    }

    private func emit(_ line: [UInt8]) {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        transcript.append(text)
    }

    /// Waits for the child's exit (a thread of its own; waitpid(2) blocks it, nothing else).
    private func reap() {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else {
                state.withLock { $0.exit = .exited(-1) }
                finishIfDone()
                return
            }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros: spelled out.
        let exit: ExitStatus = (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signalled(status & 0x7F)
        state.withLock { $0.exit = exit }
        finishIfDone()
        // A grandchild that inherited stdout could keep the pipe open after the child is gone:
        // its output is not this child's, so stop waiting for it after a while.
        DispatchQueue.global().asyncAfter(deadline: .now() + 10) { [weak self] in
            self?.state.withLock { $0.outputEnded = true }
            self?.finishIfDone()
        }
    }

    /// Once the child exited and its output is read: fail open waits, answer `exitStatus`.
    private func finishIfDone() {
        let done = state.withLock { state -> (ExitStatus, [CheckedContinuation<ExitStatus, Never>])? in
            guard let exit = state.exit, state.outputEnded, !state.finished else { return nil }
            state.finished = true
            let waiters = state.exitWaiters
            state.exitWaiters = []
            return (exit, waiters)
        }
        guard let (exit, waiters) = done else { return }
        transcript.finish(reason: "\(name) \(exit)")
        for waiter in waiters { waiter.resume(returning: exit) }
    }

    // MARK: - Asking

    /// Whether the child has not exited yet.
    public var isRunning: Bool { state.withLock { $0.exit == nil } }

    /// How it ended, once it has and its output is read; waits as long as that takes.
    public var exitStatus: ExitStatus {
        get async {
            await withCheckedContinuation { continuation in
                let exit = state.withLock { state -> ExitStatus? in
                    if state.finished { return state.exit }
                    state.exitWaiters.append(continuation)
                    return nil
                }
                if let exit { continuation.resume(returning: exit) }
            }
        }
    }

    /// Waits for the exit; after `hangGuard` kills the child with SIGKILL and throws, with its last lines.
    @discardableResult
    public func waitForExit(hangGuard: Duration = HangGuard.duration) async throws -> ExitStatus {
        let timer = DispatchWorkItem { [weak self] in
            guard let self else { return }
            state.withLock { state in
                if state.exit == nil {
                    state.killedByHangGuard = true
                    _ = Glibc.kill(pid, SIGKILL)
                }
            }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + Double(hangGuard.components.seconds), execute: timer)
        let exit = await exitStatus
        timer.cancel()
        if state.withLock({ $0.killedByHangGuard }) {
            throw WaitFailure(waitingFor: "\(name) to exit", reason: "it still ran after \(hangGuard) (the hang guard), so it was killed",
                              lastLines: transcript.last(), logFile: logPath)
        }
        // Ended as a test ends it: its log is not needed (one that failed a wait keeps it).
        if let logPath, [.exited(0), .exited(128 + SIGTERM), .signalled(SIGTERM), .signalled(SIGKILL), .signalled(SIGINT)].contains(exit) {
            unlink(logPath)
        }
        return exit
    }

    /// Sends SIGTERM (the way systemd stops a service).
    public func terminate() { signal(SIGTERM) }

    /// Sends SIGINT (Ctrl-C).
    public func interrupt() { signal(SIGINT) }

    /// Sends SIGKILL.
    public func kill() { signal(SIGKILL) }

    /// Sends `number` if the child has not been reaped (so never to a recycled pid).
    public func signal(_ number: Int32) {
        state.withLock { state in
            if state.exit == nil { _ = Glibc.kill(pid, number) }
        }
    }

    /// Sends SIGTERM and waits for the exit (SIGKILL after the hang guard).
    @discardableResult
    public func stop() async throws -> ExitStatus {
        terminate()
        return try await waitForExit()
    }

    /// Everything the child wrote to stdout so far.
    public var stdout: String { state.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    /// Everything the child wrote to stderr so far.
    public var stderr: String { state.withLock { String(decoding: $0.stderr, as: UTF8.self) } }
    /// stdout and stderr lines so far, in arrival order, joined with newlines.
    public var output: String { transcript.lines.joined(separator: "\n") }

    /// Writes `text` to the child's stdin (`input: .pipe`), off the cooperative pool.
    public func write(_ text: String) async throws {
        let fd = state.withLock { $0.inputFD }
        guard fd >= 0 else { throw SpawnFailure(executable: name, reason: "stdin is not a pipe, or it was closed") }
        let bytes = Array(text.utf8)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            inputQueue.async {
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                    if written < 0 {
                        if errno == EINTR { continue }
                        continuation.resume(throwing: SpawnFailure(executable: self.name, reason: "writing stdin: \(String(cString: strerror(errno)))"))
                        return
                    }
                    offset += written
                }
                continuation.resume()
            }
        }
    }

    /// Closes the child's stdin (it sees end of file).
    public func closeInput() {
        let fd = state.withLock { state -> Int32 in
            let fd = state.inputFD
            state.inputFD = -1
            return fd
        }
        guard fd >= 0 else { return }
        inputQueue.async { close(fd) }
    }
}

/// A child could not be started.
public struct SpawnFailure: Error, CustomStringConvertible {
    public var executable: String
    public var reason: String
    public var description: String { "cannot start \(executable): \(reason)" }
}

// MARK: - Scoped

extension ChildProcess {
    /// Runs `body` with a long-running child started (holding one of the `ChildSlots`), and stops
    /// it with SIGTERM — awaiting its exit — when the body returns or throws.
    public static func with<T>(
        executable: String, arguments: [String], environment: [String: String]? = nil, input: Input = .none,
        _ body: (ChildProcess) async throws -> T
    ) async throws -> T {
        try await ChildSlots.withSlot {
            let child = try ChildProcess(executable: executable, arguments: arguments, environment: environment, input: input)
            let result: T
            do {
                result = try await body(child)
            } catch {
                child.closeInput()
                _ = try? await child.stop()
                throw error
            }
            child.closeInput()
            try await child.stop()
            return result
        }
    }
}

// MARK: - Short commands

extension ChildProcess {
    /// What a short command printed, and how it ended.
    public struct Output: Sendable {
        public var status: ExitStatus
        public var stdout: String
        public var stderr: String

        /// The exit code (or the signal's number).
        public var exitCode: Int32 { status.code }

        /// stdout parsed as a JSON object (nil if it is JSON of another kind; throws if not JSON).
        public func jsonObject() throws -> [String: Any]? {
            try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        }
    }

    /// Runs `executable arguments…` to its end, with `input` on stdin (none: /dev/null).
    ///
    /// After `hangGuard` the child is killed and this throws, with its last lines.
    public static func run(
        _ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil,
        hangGuard: Duration = HangGuard.duration
    ) async throws -> Output {
        let child = try ChildProcess(executable: executable, arguments: arguments, environment: environment,
                                     input: input == nil ? .none : .pipe, keepsLog: false)
        if let input {
            // A child that exits without reading its input is not an error here: its output says why.
            try? await child.write(input)
            child.closeInput()
        }
        let status = try await child.waitForExit(hangGuard: hangGuard)
        return Output(status: status, stdout: child.stdout, stderr: child.stderr)
    }

    /// Runs one of this package's built products (`lampctl`, `lampd`, `lamp-ingest`) to its end.
    public static func run(
        product: String, _ arguments: [String], environment: [String: String]? = nil,
        hangGuard: Duration = HangGuard.duration
    ) async throws -> Output {
        try await run(Products.path(product), arguments, environment: environment, hangGuard: hangGuard)
    }

    /// Runs `python3 arguments…` (through /usr/bin/env) to its end.
    public static func runPython(_ arguments: [String], input: String? = nil) async throws -> Output {
        try await run("/usr/bin/env", ["python3"] + arguments, input: input)
    }
}

/// Where the package's built products and the Python peers are.
public enum Products {
    /// Folder holding lampd, lampctl, lamp-ingest and spool-torture: the test bundle sits beside
    /// them; `LAMPD_PRODUCTS_DIR` overrides.
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["LAMPD_PRODUCTS_DIR"] {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// The path of the built product `name`.
    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Tests/Peers: the Python peers.
    public static var peers: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Peers")
    }

    /// A Python peer's script.
    public static func peer(_ script: String) -> String { peers.appendingPathComponent(script).path }
}
