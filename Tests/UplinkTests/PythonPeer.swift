import Foundation
import Testing
import TestSupport

/// Runs the Python peers in Tests/Peers (cbor2, pycose, cryptography) and the built `lampctl`
/// as child processes (`ChildProcess`).
enum PythonPeer {
    typealias Result = ChildProcess.Output

    /// Fails the calling test (does not skip it) when the Python modules are missing.
    static func requireModules(_ modules: String = "cbor2, pycose, cryptography") async throws {
        let check = try await run(["-c", "import \(modules)"])
        if check.status != .exited(0) {
            Issue.record("python3 with \(modules) is missing — run scripts/setup --test (\(check.stderr))")
            throw CancellationError()
        }
    }

    /// Runs `python3 arguments…` with `input` on stdin.
    static func run(_ arguments: [String], input: String = "") async throws -> Result {
        try await ChildProcess.runPython(arguments, input: input)
    }

    /// Runs the built `lampctl` (it sits beside the test bundle) with `arguments`.
    static func lampctl(_ arguments: [String]) async throws -> Result {
        try await ChildProcess.run(product: "lampctl", arguments)
    }

    static func script(_ name: String) -> String { Products.peer(name) }
}

/// Bytes from a hex string (spaces and newlines ignored); test helper.
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
