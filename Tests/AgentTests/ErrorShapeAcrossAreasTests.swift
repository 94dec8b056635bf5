import Testing
import LampdConfig
import Hardware
import SystemSupport
import Telemetry
import Uplink

/// The areas' errors all have the one shape (issue 12, item 7), so `lampctl --json`, the control
/// socket and the logs report any of them as a stable code and a message a technician can act on.
@Suite("Error shape across areas")
struct ErrorShapeAcrossAreasTests {
    @Test func everyAreaReportsAStableCodeAndItsMessage() {
        let errors: [(any ActionableError, code: String)] = [
            (TelemetryError(.spoolClosed, "the spool is closed"), "spool.closed"),
            (UplinkError(.keyMissing, "no device key; run `lampctl identity init`"), "uplink.key-missing"),
            (ConfigurationError(file: "/etc/lampd/lampd.toml", line: 3, column: 1, keyPath: "site", message: "missing"), "config.invalid"),
            (AgentError("cannot open the spool"), "agent.start-failed"),
            (SQLiteError(extendedResultCode: 13, message: "database or disk is full"), "sqlite.full"),
            (GPIOError.noChips(requested: nil), "gpio.no-chips"),
        ]
        for (error, code) in errors {
            let summary = ErrorSummary(error)
            #expect(summary.code == code, "\(error)")
            #expect(!summary.message.isEmpty, "\(error)")
        }
        let wrapped = TelemetryError(.spoolWriteFailed, "group commit failed", underlying: SQLiteError(extendedResultCode: 13, message: "full"))
        #expect((wrapped.underlying as? SQLiteError)?.code == "sqlite.full")
    }
}
