import Foundation

/// Tests/Peers/modbus_misbehaving_peer.py as a child process: a Modbus TCP peer
/// that answers slowly, wrongly or not at all, on purpose.
///
/// Use `MisbehavingModbusPeer.with(.trickle) { peer in … peer.port … }`. Readiness
/// is the peer's "ready" line (an event, not a clock); the child holds one of the
/// `ChildSlots`, and is stopped when the body returns or throws.
public struct MisbehavingModbusPeer: Sendable {
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
    public let port: Int

    /// Runs `body` with a started peer and stops it afterwards.
    public static func with<T>(
        _ mode: Mode, byteDelaySeconds: Double = 0.3, _ body: (MisbehavingModbusPeer) async throws -> T
    ) async throws -> T {
        try await ChildProcess.with(
            executable: "/usr/bin/env",
            arguments: ["python3", Products.peer("modbus_misbehaving_peer.py"), mode.rawValue, "--byte-delay", String(byteDelaySeconds)],
            input: .pipe
        ) { child in
            let ready = try await child.transcript.wait(for: "modbus_misbehaving_peer.py to print \"ready …\"") { $0.hasPrefix("ready 127.0.0.1:") }
            guard let port = Int(ready.split(separator: ":").last ?? "") else {
                throw Failed(description: "modbus_misbehaving_peer.py printed no port: \(ready)")
            }
            return try await body(MisbehavingModbusPeer(mode: mode, port: port))
        }
    }
}
