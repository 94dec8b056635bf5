import Foundation
import Testing

/// Runs the Python peers in Tests/Peers (cbor2, pycose, cryptography) as child processes.
enum PythonPeer {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var peersDirectory: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Peers")
    }

    /// Fails the calling test (does not skip it) when the Python modules are missing.
    static func requireModules(_ modules: String = "cbor2, pycose, cryptography") throws {
        let check = try run(["-c", "import \(modules)"])
        if check.status != 0 {
            Issue.record("python3 with \(modules) is missing — run scripts/setup --test (\(check.stderr))")
            throw CancellationError()
        }
    }

    /// Runs `python3 arguments…` with `input` on stdin.
    static func run(_ arguments: [String], input: String = "") throws -> Result {
        try run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments, input: input)
    }

    /// Runs the built `lampctl` (it sits beside the test bundle) with `arguments`.
    static func lampctl(_ arguments: [String]) throws -> Result {
        let products = ProcessInfo.processInfo.environment["LAMPD_PRODUCTS_DIR"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return try run(executable: products.appendingPathComponent("lampctl"), arguments)
    }

    /// Runs `executable arguments…` with `input` on stdin and waits for it.
    static func run(executable: URL, _ arguments: [String], input: String = "") throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        // Small outputs only: read stderr on another thread so neither pipe can fill up.
        let errorData = LockedData()
        let reader = Thread { errorData.set(stderr.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { Thread.sleep(forTimeInterval: 0.005) }
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: errorData.value, as: UTF8.self))
    }

    static func script(_ name: String) -> String { peersDirectory.appendingPathComponent(name).path }
}

/// Data written by one thread and read by another.
final class LockedData: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var data: Data?

    func set(_ value: Data) { lock.withLock { data = value } }
    var isSet: Bool { lock.withLock { data != nil } }
    var value: Data { lock.withLock { data ?? Data() } }
}

/// Bytes from a hex string (spaces and newlines ignored); test helper.
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
