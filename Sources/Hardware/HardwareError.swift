/// An error from the hardware layer that a field technician can act on.
///
/// Every area (GPIO, Modbus, PWM) has its own error type conforming to this
/// protocol (STYLE.md rule 7). `code` is stable and machine-readable
/// (`modbus.timeout`, `gpio.permission-denied`); `description` is the sentence
/// a technician reads: what failed, where, and what to check.
public protocol HardwareError: Error, CustomStringConvertible, Sendable {
    /// Stable, dotted identifier for scripts and JSON output.
    var code: String { get }
}
