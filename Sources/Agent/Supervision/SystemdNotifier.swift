internal import CSystemd
import FoundationEssentials
import Glibc
import Synchronization

/// Tells systemd about the daemon's state through `sd_notify(3)`: readiness,
/// status text, stopping, and watchdog keep-alives.
///
/// Outside systemd (`NOTIFY_SOCKET` unset) every call does nothing, so the
/// daemon runs the same from a shell.
public struct SystemdNotifier: Sendable {
    /// The notify socket; `nil` outside systemd.
    public let socketPath: String?

    /// Uses `$NOTIFY_SOCKET`, as systemd sets it for `Type=notify` units.
    public init() {
        self.init(socketPath: ProcessInfo.processInfo.environment["NOTIFY_SOCKET"])
    }

    /// Uses the given socket (tests, or another supervisor that speaks the protocol).
    public init(socketPath: String?) {
        self.socketPath = socketPath
    }

    /// The watchdog interval systemd expects keep-alives within, if the
    /// unit has `WatchdogSec=` set for this process.
    public var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds))
    }

    /// Startup finished: systemd considers the unit started (Type=notify).
    public func ready(status: String) { send("READY=1\nSTATUS=\(Self.oneLine(status))") }

    /// A line shown by `systemctl status lampd`.
    public func status(_ text: String) { send("STATUS=\(Self.oneLine(text))") }

    /// Shutdown began.
    public func stopping() { send("STOPPING=1") }

    /// Keep-alive for `WatchdogSec=`.
    public func watchdogKeepAlive() { send("WATCHDOG=1") }

    /// Returns whether systemd received the message (false outside systemd).
    @discardableResult
    public func send(_ message: String) -> Bool {
        guard let socketPath else { return false }
        // sd_notify reads the socket from $NOTIFY_SOCKET only; for another
        // socket (tests) set it for this call's duration.
        if ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] == socketPath {
            return sd_notify(0, message) > 0
        }
        return Self.environmentLock.withLock { _ in
            let previous = getenv("NOTIFY_SOCKET").map { String(cString: $0) }
            setenv("NOTIFY_SOCKET", socketPath, 1)
            defer {
                if let previous { setenv("NOTIFY_SOCKET", previous, 1) } else { unsetenv("NOTIFY_SOCKET") }
            }
            return sd_notify(0, message) > 0
        }
    }

    private static let environmentLock = Mutex(())

    /// Status text must not contain newlines: each line is a separate assignment.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
