import Foundation
import Testing

/// The pymodbus server in Tests/Peers/modbus_server.py, run as a child
/// process over TCP, or over RTU on a socat pty pair.
///
/// Use `ModbusPeer.with(.tcp) { peer in … }`: the children are stopped when
/// the body returns or throws, and the server also exits by itself when its
/// stdin closes (if this test process dies).
///
/// This file is shared by HardwareTests and LampctlTests (symlinked).
final class ModbusPeer: @unchecked Sendable {
    // @unchecked Sendable: the Process objects are only started in `start` and
    // stopped in `stop`, both called from the one test that owns the peer.

    enum Transport: Sendable { case tcp, rtu }

    /// Server address map, as documented in modbus_server.py.
    enum Map {
        static let orderBase: [String: UInt16] = ["ABCD": 100, "CDAB": 200, "BADC": 300, "DCBA": 400]
        static let scratch: UInt16 = 20
        static let busy: UInt16 = 590
        static let firstInvalid: UInt16 = 600
    }

    let transport: Transport
    /// `127.0.0.1:PORT` for TCP.
    private(set) var tcpAddress = ""
    private(set) var tcpHost = "127.0.0.1"
    private(set) var tcpPort = 0
    /// The pty our side opens, for RTU (the server has the other end).
    private(set) var clientDevice = ""

    private var server: Process?
    private var socat: Process?
    private var serverInput: Pipe?
    private var serverOutput: Pipe?
    private var logFiles: [URL] = []

    private init(transport: Transport) { self.transport = transport }

    static func with<T>(_ transport: Transport, _ body: (ModbusPeer) async throws -> T) async throws -> T {
        let peer = ModbusPeer(transport: transport)
        defer { peer.stop() }
        try peer.start()
        return try await body(peer)
    }

    static var peersDirectory: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Peers")
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// Fails (never skips) when the peers are not installed.
    static func checkPrerequisites(_ transport: Transport) throws {
        let python = run("/usr/bin/env", ["python3", "-c", "import pymodbus, serial; print(pymodbus.__version__)"])
        guard python.status == 0 else {
            throw Missing(description: "python3 with pymodbus and pyserial is missing — run scripts/setup --test")
        }
        if transport == .rtu {
            guard run("/usr/bin/env", ["socat", "-V"]).status == 0 else {
                throw Missing(description: "socat is missing — run scripts/setup --test")
            }
        }
    }

    private static func run(_ path: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return (127, "") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func start() throws {
        try Self.checkPrerequisites(transport)
        var arguments = [Self.peersDirectory.appendingPathComponent("modbus_server.py").path]
        switch transport {
        case .tcp:
            arguments += ["--tcp", "0"]
        case .rtu:
            let (serverSide, clientSide) = try startSocat()
            clientDevice = clientSide
            // A pty refuses parity in tcsetattr (pyserial gets EINVAL), so the pty pair runs 8N1.
            arguments += ["--rtu", serverSide, "--baud", "9600", "--parity", "N"]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let input = Pipe()
        let output = Pipe()
        let log = try logFile("modbus-server")
        process.standardInput = input
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        server = process
        serverInput = input
        serverOutput = output

        let line = try Self.readLine(output.fileHandleForReading, timeout: .seconds(15))
        guard let line, line.hasPrefix("ready ") else {
            let errors = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw Missing(description: "modbus_server.py did not start: \(line ?? "no output")\n\(errors.suffix(2000))")
        }
        if transport == .tcp {
            tcpAddress = String(line.split(separator: " ").last ?? "")
            tcpPort = Int(tcpAddress.split(separator: ":").last ?? "") ?? 0
        }
    }

    private func startSocat() throws -> (String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"]
        let log = try logFile("socat")
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        socat = process
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            // "2024/01/01 00:00:00 socat[123] N PTY is /dev/pts/5"
            let ptys = text.split(separator: "\n").compactMap { line -> String? in
                guard let range = line.range(of: "PTY is ") else { return nil }
                return String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            }
            if ptys.count >= 2, text.contains("starting data transfer loop") {
                return (ptys[0], ptys[1])
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw Missing(description: "socat did not print two pty paths")
    }

    private func logFile(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("lampd-\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        logFiles.append(url)
        return url
    }

    /// Reads one line with poll(2), so a silent child cannot hang the test.
    private static func readLine(_ handle: FileHandle, timeout: Duration) throws -> String? {
        var buffer: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var descriptor = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            var byte: UInt8 = 0
            let count = read(handle.fileDescriptor, &byte, 1)
            if count <= 0 { return buffer.isEmpty ? nil : String(decoding: buffer, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { return String(decoding: buffer, as: UTF8.self) }
            buffer.append(byte)
        }
        return nil
    }

    /// Sends a command to the server (`mute 5`, `unmute 5`) and waits for its "ok".
    func command(_ line: String) throws {
        guard let input = serverInput, let output = serverOutput else { throw Missing(description: "the Modbus peer is not running") }
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
        let answer = try Self.readLine(output.fileHandleForReading, timeout: .seconds(10))
        guard answer == "ok \(line)" else { throw Missing(description: "the Modbus peer answered \(answer ?? "nothing") to \(line)") }
    }

    /// Stops the children (idempotent).
    func stop() {
        // Closing stdin makes the server exit by itself; then SIGTERM, then SIGKILL.
        try? serverInput?.fileHandleForWriting.close()
        for process in [server, socat].compactMap({ $0 }) {
            if process.isRunning { process.terminate() }
            let deadline = ContinuousClock.now + .seconds(2)
            while process.isRunning && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        server = nil
        socat = nil
        serverInput = nil
        serverOutput = nil
        for file in logFiles { try? FileManager.default.removeItem(at: file) }
        logFiles = []
    }

    deinit { stop() }
}
