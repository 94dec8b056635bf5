/// `[watchdog]`: the board's hardware watchdog, fed by lampd while every critical loop
/// makes progress (`HardwareWatchdogService`). Optional: without the section lampd does not
/// touch the device (the systemd watchdog still applies).
public struct WatchdogConfiguration: Sendable, Hashable {
    /// The device, default `/dev/watchdog`.
    public var device: String
    /// Reset the board when not fed for this long (2 s to 10 min, default 30 s).
    public var timeout: Duration

    public static let timeoutRange: ClosedRange<Duration> = .seconds(2)...(.seconds(600))

    public init(device: String = "/dev/watchdog", timeout: Duration = .seconds(30)) {
        self.device = device
        self.timeout = timeout
    }

    static func read(_ table: TOMLReader) -> WatchdogConfiguration? {
        var configuration = WatchdogConfiguration()
        if let device = table.string("device") {
            if device.hasPrefix("/") { configuration.device = device } else {
                table.report("device", "\"\(device)\" is not an absolute path; write e.g. \"/dev/watchdog\"")
            }
        }
        if let timeout = table.duration("timeout", in: timeoutRange) {
            if timeout.components.attoseconds != 0 {
                table.report("timeout", "the watchdog counts whole seconds; write e.g. \"30s\"")
            }
            configuration.timeout = timeout
        }
        table.rejectUnknownKeys()
        return configuration
    }
}
