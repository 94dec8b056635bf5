import SystemSupport

/// An error from the hardware layer (GPIO, Modbus, PWM, the watchdog device, lamp outputs): the
/// project's one error shape, `ActionableError`. `code` is stable (`modbus.timeout`,
/// `gpio.permission-denied`); `description` is the sentence a technician reads (what failed,
/// where, what to check), and `message` is the same sentence.
public protocol HardwareError: ActionableError {}
