import Foundation

/// Tests/Peers/modbus_misbehaving_peer.py as a child process: a Modbus TCP peer
/// that answers slowly, wrongly or not at all, on purpose.
///
/// Use `MisbehavingModbusPeer.with(.trickle) { peer in … peer.port … }`. Readiness
/// is the peer's "ready" line (an event, not a clock); the child is stopped when the
/// body returns or throws, and exits by itself when its stdin closes.
public final class MisbehavingModbusPeer: @unchecked Sendable {
    // @unchecked Sendable: `process` and `input` are set in `start` before the peer
    // is handed to the body and only used again in `stop`, by the same test.

    /// How the peer answers; see the script's docstring.
    public enum Mode: String, Sendable, CaseIterable {
        case ok, trickle, silent, exception, short, truncated
        case wrongFunction = "wrong-function"
        case wrongTransaction = "wrong-transaction"
        case wrongUnit = "wrong-unit"
    }

    public struct Failed: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public let mode: Mode
    /// The TCP port on 127.0.0.1.
    public private(set) var port = 0
    private var process: Process?
    private var input: Pipe?

    private init(mode: Mode) { self.mode = mode }

    /// Runs `body` with a started peer and stops it afterwards.
    public static func with<T>(
        _ mode: Mode, byteDelaySeconds: Double = 0.3, _ body: (MisbehavingModbusPeer) async throws -> T
    ) async throws -> T {
        let peer = MisbehavingModbusPeer(mode: mode)
        do {
            try await peer.start(byteDelaySeconds: byteDelaySeconds)
            let result = try await body(peer)
            await peer.stop()
            return result
        } catch {
            await peer.stop()
            throw error
        }
    }

    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Peers/modbus_misbehaving_peer.py")
    }

    private func start(byteDelaySeconds: Double) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script.path, mode.rawValue, "--byte-delay", String(byteDelaySeconds)]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        // The first line, or nil when the child closes its stdout (it died) first.
        let lines = AsyncStream<String?> { continuation in
            let buffer = LineBuffer()
            output.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    continuation.yield(nil)
                    continuation.finish()
                } else if let line = buffer.append(data) {
                    handle.readabilityHandler = nil
                    continuation.yield(line)
                    continuation.finish()
                }
            }
        }
        try process.run()
        self.process = process
        self.input = input
        var first: String?? = nil
        for await line in lines { first = line; break }
        guard let line = first ?? nil, line.hasPrefix("ready 127.0.0.1:"), let port = Int(line.split(separator: ":").last ?? "") else {
            throw Failed(description: "modbus_misbehaving_peer.py did not start (python3 missing?): \(String(describing: first))")
        }
        self.port = port
    }

    /// Closes the child's stdin (it exits by itself) and awaits its exit.
    private func stop() async {
        guard let process else { return }
        let exited = AsyncStream<Void> { continuation in
            process.terminationHandler = { _ in continuation.yield(); continuation.finish() }
            if !process.isRunning { continuation.yield(); continuation.finish() }
        }
        try? input?.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        for await _ in exited { break }
        self.process = nil
        self.input = nil
    }
}

/// Collects bytes until the first newline.
private final class LineBuffer: @unchecked Sendable {
    // @unchecked Sendable: used only from one readability handler, which FileHandle calls serially.
    private var bytes: [UInt8] = []

    func append(_ data: Data) -> String? {
        bytes += data
        guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
