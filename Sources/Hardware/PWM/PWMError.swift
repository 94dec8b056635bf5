import SystemSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What went wrong with a sysfs PWM channel, worded for the technician: which
/// chip, channel or file, and what to check. `code` is stable for scripts.
public enum PWMError: HardwareError, Equatable {
    /// `pwmchipN` does not exist under the sysfs root; `available` lists those that do.
    case chipNotFound(chip: Int, root: String, available: [String])
    /// The channel number is not below the chip's `npwm`.
    case channelOutOfRange(chip: Int, channel: Int, channelCount: Int)
    /// The user may not write the file.
    case permissionDenied(path: String)
    /// The kernel (or this API, before writing) rejected a value.
    case invalidValue(path: String, value: String, reason: String)
    /// `export` answered `EBUSY`: a kernel driver already uses the channel.
    case exportBusy(chip: Int, channel: Int)
    /// The channel directory did not appear (or stay read-only) after export.
    case exportTimedOut(path: String, waited: Duration)
    /// An attribute held something that is not a number or known word.
    case unreadable(path: String, text: String)
    /// Any other read or write failure.
    case ioFailed(path: String, errno: Int32)

    public var code: String {
        switch self {
        case .chipNotFound: "pwm.chip-not-found"
        case .channelOutOfRange: "pwm.channel-out-of-range"
        case .permissionDenied: "pwm.permission-denied"
        case .invalidValue: "pwm.invalid-value"
        case .exportBusy: "pwm.export-busy"
        case .exportTimedOut: "pwm.export-timed-out"
        case .unreadable: "pwm.unreadable"
        case .ioFailed: "pwm.io-error"
        }
    }

    public var description: String {
        switch self {
        case .chipNotFound(let chip, let root, let available):
            let present =
                available.isEmpty
                ? "there are no PWM chips in \(root)"
                : "chips present: " + available.joined(separator: ", ")
            return "PWM chip pwmchip\(chip) not found in \(root) (\(present)) — enable the "
                + "board's PWM (device tree overlay, e.g. dtoverlay=pwm) and check the "
                + "chip number in the configuration"
        case .channelOutOfRange(let chip, let channel, let channelCount):
            return "PWM channel \(channel) is out of range: pwmchip\(chip) has \(channelCount) "
                + "channels (0–\(max(channelCount - 1, 0)))"
        case .permissionDenied(let path):
            return "permission denied writing \(path) — add the user to the 'gpio' group "
                + "and install a udev rule that gives /sys/class/pwm to that group "
                + "(see docs/gpio-and-pwm.md)"
        case .invalidValue(let path, let value, let reason):
            return "PWM value '\(value)' rejected for \(path): \(reason)"
        case .exportBusy(let chip, let channel):
            return "PWM channel \(channel) of pwmchip\(chip) is busy: a kernel driver "
                + "(backlight, fan, LED) already uses it — check the device tree"
        case .exportTimedOut(let path, let waited):
            return "\(path) did not appear or stayed read-only \(waited) after export — "
                + "check the udev rule for PWM permissions and the kernel log (dmesg)"
        case .unreadable(let path, let text):
            return "could not understand '\(text)' in \(path) — is this a PWM channel directory?"
        case .ioFailed(let path, let errno):
            return "PWM access to \(path) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }

    /// The one place where a sysfs errno becomes a `PWMError`.
    init(_ error: SysfsAttributeError, value: String? = nil) {
        switch error.errno {
        case EACCES, EPERM:
            self = .permissionDenied(path: error.path)
        case EINVAL where value != nil:
            self = .invalidValue(
                path: error.path, value: value!,
                reason: "the kernel refused it (EINVAL) — duty cycle must not exceed the "
                    + "period, and the driver may not support this period")
        case EBUSY where value != nil:
            self = .invalidValue(
                path: error.path, value: value!,
                reason: "the channel is busy (EBUSY) — polarity can only change while disabled")
        default:
            self = .ioFailed(path: error.path, errno: error.errno)
        }
    }
}
