import SystemSupport

/// What went wrong with the hardware watchdog device, worded for the technician.
public struct WatchdogError: HardwareError, Equatable {
    /// Stable identifier: `watchdog.open-failed`, `watchdog.feed-failed`, `watchdog.close-failed`.
    public let code: String
    /// The device, e.g. `/dev/watchdog`.
    public let device: String
    /// The errno the kernel returned.
    public let errno: Int32
    public let description: String

    init(code: String, device: String, errno: Int32, _ description: String) {
        self.code = code
        self.device = device
        self.errno = errno
        self.description = description
    }
}
