import FoundationEssentials

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The Linux watchdog device (`/dev/watchdog`, watchdog(4)): once opened, the board resets
/// unless it is fed within its timeout; writing the magic character `V` before closing
/// disarms it (drivers without `nowayout`).
///
/// `open` asks the driver for the timeout with `WDIOC_SETTIMEOUT`. Where that ioctl is not
/// supported (an old driver, or a plain file or FIFO standing in for the device in tests)
/// the driver's own timeout stays and `timeoutSeconds` is nil; feeding then falls back
/// from `WDIOC_KEEPALIVE` to writing one byte, which every driver accepts.
/// One owner (the watchdog service) calls it; every call is a short, non-blocking syscall.
public final class WatchdogDevice: Sendable {
    /// The device path, for messages.
    public let path: String
    /// The timeout the driver confirmed, seconds; nil when it does not support setting it.
    public let timeoutSeconds: Int?
    private let fd: Int32
    private let keepAliveByIoctl: Bool

    // The request numbers of <linux/watchdog.h>: _IOR/_IOWR('W', n, int), generic encoding
    // (x86, ARM, AArch64, RISC-V). The macros are not importable into Swift.
    static let keepAliveRequest: UInt = 0x8004_5705  // WDIOC_KEEPALIVE  = _IOR('W', 5, int)
    static let setTimeoutRequest: UInt = 0xC004_5706  // WDIOC_SETTIMEOUT = _IOWR('W', 6, int)

    private init(path: String, fd: Int32, timeoutSeconds: Int?) {
        self.path = path
        self.fd = fd
        self.timeoutSeconds = timeoutSeconds
        self.keepAliveByIoctl = timeoutSeconds != nil
    }

    /// Opens (and so arms) the watchdog and asks for `timeoutSeconds`.
    ///
    /// - Throws: `WatchdogError` `watchdog.open-failed` (missing device, no permission, or
    ///   already open: only one process may hold it).
    public static func open(path: String, timeoutSeconds: Int) throws(WatchdogError) -> WatchdogDevice {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let error = Glibc.errno
            let hint = switch error {
            case ENOENT: "no such device — is the watchdog driver loaded? (ls /dev/watchdog*)"
            case EACCES, EPERM: "permission denied — lampd needs write access (udev rule or group)"
            case EBUSY: "already open — another watchdog daemon (systemd RuntimeWatchdogSec=, watchdog.service) holds it"
            default: String(cString: strerror(error))
            }
            throw WatchdogError(code: "watchdog.open-failed", device: path, errno: error, "cannot open the watchdog \(path): \(hint)")
        }
        var timeout = Int32(clamping: timeoutSeconds)
        let confirmed: Int? = ioctl(fd, setTimeoutRequest, &timeout) == 0 ? Int(timeout) : nil
        return WatchdogDevice(path: path, fd: fd, timeoutSeconds: confirmed)
    }

    /// Feeds the watchdog: the board's reset is pushed back by one timeout.
    public func keepAlive() throws(WatchdogError) {
        if keepAliveByIoctl, ioctl(fd, Self.keepAliveRequest) == 0 { return }
        try write(0, what: "feed")
    }

    /// Disarms and closes the watchdog: the magic character `V`, then close. For a clean
    /// shutdown only — a daemon that hangs must leave it armed.
    public func magicClose() throws(WatchdogError) {
        defer { Glibc.close(fd) }
        try write(UInt8(ascii: "V"), what: "disarm")
    }

    private func write(_ byte: UInt8, what: String) throws(WatchdogError) {
        var byte = byte
        while Glibc.write(fd, &byte, 1) != 1 {
            let error = Glibc.errno
            if error == EINTR { continue }
            throw WatchdogError(code: what == "feed" ? "watchdog.feed-failed" : "watchdog.close-failed", device: path, errno: error,
                                "cannot \(what) the watchdog \(path): \(String(cString: strerror(error)))")
        }
    }
}
