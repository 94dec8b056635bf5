import Foundation

/// The pymodbus server in Tests/Peers/modbus_server.py, run as a child process over TCP, or over
/// RTU on a socat pty pair.
///
/// Use `ModbusPeer.with(.tcp) { peer in … }`: it returns once the server printed `ready …` (an
/// event, not a clock), fails at once with the server's last lines if it exits first, and stops
/// the children when the body returns or throws. The server also exits by itself when its stdin
/// closes (if this test process dies). Holds one of the `ChildSlots` while it runs.
public final class ModbusPeer: Sendable {
    public enum Transport: Sendable { case tcp, rtu }

    /// Server address map, as documented in modbus_server.py.
    public enum Map {
        public static let orderBase: [String: UInt16] = ["ABCD": 100, "CDAB": 200, "BADC": 300, "DCBA": 400]
        public static let scratch: UInt16 = 20
        public static let busy: UInt16 = 590
        public static let firstInvalid: UInt16 = 600
        /// The 40-channel pole of the shared benchmark: holding 2k = f32 100 + k/4, input k = u16 1000 + k (k < 20).
        public static let benchUnit: UInt8 = 9
        /// Refuses any read touching an undefined register; holding/input 0-3, 10-13, 20-21 hold 100 + N.
        public static let strictUnit: UInt8 = 8
    }

    public let transport: Transport
    /// `127.0.0.1:PORT` for TCP.
    public let tcpAddress: String
    public let tcpHost = "127.0.0.1"
    public let tcpPort: Int
    /// The pty our side opens, for RTU (the server has the other end).
    public let clientDevice: String

    private let server: ChildProcess
    /// socat's pty pairs, and the paced line between them when there is one.
    private let line: [ChildProcess]

    private init(transport: Transport, server: ChildProcess, socat: [ChildProcess], ready: String, clientDevice: String) {
        self.transport = transport
        self.server = server
        self.line = socat
        self.clientDevice = clientDevice
        tcpAddress = transport == .tcp ? String(ready.split(separator: " ").last ?? "") : ""
        tcpPort = Int(tcpAddress.split(separator: ":").last ?? "") ?? 0
    }

    /// `pacedAtBaud`: RTU only — the pty pair passes bytes at once, so put `paced_line.py` in the
    /// middle to make every character cost its time on a real line at that speed (8E1: 11 bits).
    public static func with<T>(_ transport: Transport, pacedAtBaud baud: Int? = nil, _ body: (ModbusPeer) async throws -> T) async throws -> T {
        try await ChildSlots.withSlot {
            let peer = try await start(transport, pacedAtBaud: baud)
            let result: T
            do {
                result = try await body(peer)
            } catch {
                await peer.stop()
                throw error
            }
            await peer.stop()
            return result
        }
    }

    public struct Missing: Error, CustomStringConvertible {
        public var description: String
    }

    /// Fails (never skips) when the peers are not installed.
    public static func checkPrerequisites(_ transport: Transport) async throws {
        let python = try await ChildProcess.runPython(["-c", "import pymodbus, serial; print(pymodbus.__version__)"])
        guard python.exitCode == 0 else {
            throw Missing(description: "python3 with pymodbus and pyserial is missing — run scripts/setup --test")
        }
        if transport == .rtu {
            guard (try? await ChildProcess.run("/usr/bin/env", ["socat", "-V"]))?.exitCode == 0 else {
                throw Missing(description: "socat is missing — run scripts/setup --test")
            }
        }
    }

    private static func start(_ transport: Transport, pacedAtBaud baud: Int?) async throws -> ModbusPeer {
        try await checkPrerequisites(transport)
        var arguments = ["python3", Products.peer("modbus_server.py")]
        var line: [ChildProcess] = []
        var clientDevice = ""
        do {
            switch transport {
            case .tcp:
                arguments += ["--tcp", "0"]
            case .rtu:
                let pair = try await startSocat()
                line.append(pair.socat)
                clientDevice = pair.client
                if let baud {
                    let far = try await startSocat()
                    line.append(far.socat)
                    let paced = try ChildProcess(executable: "/usr/bin/env", arguments: [
                        "python3", Products.peer("paced_line.py"), "--baud", String(baud), "--bits", "11", pair.client, far.server,
                    ], input: .pipe)
                    line.append(paced)
                    _ = try await paced.transcript.wait(for: "paced_line.py to print \"ready\"") { $0 == "ready" }
                    clientDevice = far.client
                }
                // A pty refuses parity in tcsetattr (pyserial gets EINVAL), so the pty pair runs 8N1.
                arguments += ["--rtu", pair.server, "--baud", "9600", "--parity", "N"]
            }
            let server = try ChildProcess(executable: "/usr/bin/env", arguments: arguments, input: .pipe)
            do {
                let ready = try await server.transcript.wait(for: "modbus_server.py to print \"ready …\"") { $0.hasPrefix("ready ") }
                return ModbusPeer(transport: transport, server: server, socat: line, ready: ready, clientDevice: clientDevice)
            } catch {
                server.kill()
                _ = await server.exitStatus
                throw error
            }
        } catch {
            for child in line.reversed() {
                child.kill()
                _ = await child.exitStatus
            }
            throw error
        }
    }

    private static func startSocat() async throws -> (socat: ChildProcess, server: String, client: String) {
        let socat = try ChildProcess(executable: "/usr/bin/env", arguments: ["socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"])
        // "2024/01/01 00:00:00 socat[123] N PTY is /dev/pts/5", twice, then "starting data transfer loop".
        try await socat.transcript.wait(forLineContaining: "starting data transfer loop")
        let ptys = socat.transcript.lines.compactMap { line -> String? in
            guard let range = line.range(of: "PTY is ") else { return nil }
            return String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard ptys.count >= 2 else {
            socat.kill()
            throw Missing(description: "socat did not print two pty paths: \(socat.output)")
        }
        return (socat, ptys[0], ptys[1])
    }

    /// Sends a command to the server (`mute 5`, `unmute 5`) and waits for its "ok".
    public func command(_ line: String) async throws {
        let mark = server.transcript.count
        try await server.write(line + "\n")
        let answer = try await server.transcript.wait(for: "the Modbus peer's answer to \(line)", from: mark) {
            $0.hasPrefix("ok ") || $0.hasPrefix("error ")
        }
        guard answer == "ok \(line)" else { throw Missing(description: "the Modbus peer answered \(answer) to \(line)") }
    }

    /// The requests `unit` has had so far (the server counts them).
    public func requests(unit: UInt8) async throws -> Int {
        let mark = server.transcript.count
        try await server.write("requests \(unit)\n")
        let answer = try await server.transcript.wait(for: "the Modbus peer's request count of unit \(unit)", from: mark) {
            $0.hasPrefix("requests \(unit) ") || $0.hasPrefix("error ")
        }
        guard let count = answer.split(separator: " ").last.flatMap({ Int($0) }), answer.hasPrefix("requests ") else {
            throw Missing(description: "the Modbus peer answered \(answer) to requests \(unit)")
        }
        return count
    }

    /// Stops the children: closing stdin makes the server exit by itself; SIGTERM after that, and
    /// SIGKILL after the hang guard.
    public func stop() async {
        server.closeInput()
        server.terminate()
        _ = try? await server.waitForExit()
        for child in line.reversed() {
            child.closeInput()
            child.terminate()
            _ = try? await child.waitForExit()
        }
    }
}
