import LampdConfig
import ControlProtocol
import FoundationEssentials
import Telemetry
import Clocks

/// The control errors only the server raises: they name its deadlines in `DurationText`'s words.
extension ControlError {
    /// A request line did not arrive whole within the server's request deadline.
    public static func requestTimeout(_ deadline: Duration) -> ControlError {
        ControlError(code: "request-timeout", message: "the request line did not arrive complete within \(DurationText.format(deadline)); the connection is closed — send each request as one line at once")
    }
    /// A command did not finish within its time limit.
    public static func commandTimeout(_ command: String, limit: Duration) -> ControlError {
        ControlError(code: "timeout", message: "lampd did not finish \(command) within \(DurationText.format(limit)); see `journalctl -u lampd`")
    }
}
