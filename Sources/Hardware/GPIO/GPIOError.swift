import SystemSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What went wrong with a GPIO chip or line, worded for the technician at the
/// pole: which chip, which line, and what to check.
///
/// `code` is stable for scripts (`gpio.line-busy`); the C `errno` is kept
/// where there was one. Built from errno in one place,
/// `GPIOError.init(errno:operation:chip:line:…)`.
public enum GPIOError: HardwareError, Equatable {
    /// The machine has no GPIO chip at all (`/dev/gpiochip*` absent);
    /// `requested` is the chip asked for, `nil` when listing all.
    case noChips(requested: String?)
    /// No chip matches the name, path, number or label; `available` lists the chips that exist.
    case chipNotFound(requested: String, available: [String])
    /// The user may not open the chip or request the line.
    case permissionDenied(chip: String, line: String?, errno: Int32)
    /// Someone else holds the line; `consumer` is who, when the kernel knows.
    case lineBusy(chip: String, line: String, consumer: String?)
    /// The chip has no line with that name; `knownNames` are the names it does have.
    case lineNameNotFound(chip: String, name: String, knownNames: [String])
    /// The offset is not below the chip's line count.
    case offsetOutOfRange(chip: String, offset: UInt32, lineCount: Int)
    /// The kernel refused the pull resistor setting (needs Linux 5.5 or later).
    case biasNotSupported(chip: String, line: String, bias: LineBias, errno: Int32)
    /// The line has no interrupt: the kernel refuses edge events on it (`ENODEV`), as on a
    /// GPIO expander whose interrupt pin is not wired. Its level can still be read (polled).
    case edgesNotSupported(chip: String, line: String, errno: Int32)
    /// The chip went away while in use (unplugged, or its driver unloaded): `ENODEV`.
    case chipGone(chip: String, line: String?, errno: Int32)
    /// The path exists but is not a GPIO chip character device (e.g. `/dev/null`).
    case notAGPIOChip(path: String, available: [String])
    /// Any other failure of a libgpiod call.
    case operationFailed(operation: String, chip: String, line: String?, errno: Int32)

    public var code: String {
        switch self {
        case .noChips: "gpio.no-chips"
        case .chipNotFound: "gpio.chip-not-found"
        case .permissionDenied: "gpio.permission-denied"
        case .lineBusy: "gpio.line-busy"
        case .lineNameNotFound: "gpio.line-name-not-found"
        case .offsetOutOfRange: "gpio.offset-out-of-range"
        case .biasNotSupported: "gpio.bias-not-supported"
        case .edgesNotSupported: "gpio.edges-not-supported"
        case .chipGone: "gpio.chip-gone"
        case .notAGPIOChip: "gpio.not-a-chip"
        case .operationFailed: "gpio.io-error"
        }
    }

    /// The C error number behind this error, when there was one.
    public var errno: Int32? {
        switch self {
        case .permissionDenied(_, _, let errno), .biasNotSupported(_, _, _, let errno),
            .edgesNotSupported(_, _, let errno), .chipGone(_, _, let errno), .operationFailed(_, _, _, let errno):
            errno
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .noChips(let requested):
            return (requested.map { "GPIO chip '\($0)' not found: " } ?? "")
                + "no GPIO chips on this machine (/dev/gpiochip* absent) — check that "
                + "the board's GPIO driver is loaded (device tree), or use the "
                + "simulated chip 'simulated'"
        case .chipNotFound(let requested, let available):
            return "GPIO chip '\(requested)' not found; chips on this machine: "
                + available.joined(separator: ", ")
                + " — give a chip name, /dev path, number or label "
                + "(`lampctl gpio list` shows them)"
        case .permissionDenied(let chip, let line, _):
            let what = line.map { "line \($0)" } ?? "GPIO chip \(chip)"
            return "permission denied opening \(what) — add the user to the 'gpio' "
                + "group (sudo usermod -aG gpio USER, then log in again) and check "
                + "that a udev rule gives /dev/gpiochip* to that group"
        case .lineBusy(_, let line, let consumer):
            if let consumer, !consumer.isEmpty {
                return "GPIO line \(line) is busy: held by '\(consumer)' — stop that "
                    + "program first (for lampd: systemctl stop lampd, or use lampctl "
                    + "override), or pick another line"
            }
            return "GPIO line \(line) is busy: held by the kernel or an unnamed "
                + "consumer — check the device tree for a driver using this pin"
        case .lineNameNotFound(let chip, let name, let knownNames):
            let known =
                knownNames.isEmpty
                ? "it has no named lines"
                : "its names: " + knownNames.prefix(12).joined(separator: ", ")
                    + (knownNames.count > 12 ? ", …" : "")
            return "GPIO chip \(chip) has no line named '\(name)' (\(known)) — names are "
                + "case-sensitive; use `lampctl gpio list --chip \(chip)` or the line offset"
        case .offsetOutOfRange(let chip, let offset, let lineCount):
            let range = lineCount > 0 ? "0–\(lineCount - 1)" : "none"
            return "GPIO line offset \(offset) is out of range: chip \(chip) has "
                + "\(lineCount) lines (offsets \(range))"
        case .biasNotSupported(_, let line, let bias, let errno):
            return "the kernel refused bias '\(bias.rawValue)' on GPIO line \(line) "
                + "(\(errnoText(errno))) — internal pull resistors need Linux 5.5 or "
                + "later (this board runs \(kernelRelease())); use bias as-is with an "
                + "external resistor, or update the kernel"
        case .edgesNotSupported(_, let line, let errno):
            return "GPIO line \(line): \(Self.noInterruptText) (the kernel refused edge events: "
                + "\(errnoText(errno))) — its level can be read; lampd and `lampctl gpio watch` poll it instead"
        case .chipGone(let chip, let line, let errno):
            let what = line.map { "while line \($0) was in use" } ?? "while in use"
            return "GPIO chip \(chip) disappeared \(what) (\(errnoText(errno))): it was removed or its "
                + "driver unloaded — check the expander's cable and power, then `lampctl gpio list`"
        case .notAGPIOChip(let path, let available):
            return "\(path) is not a GPIO chip (the file exists, but it is not a /dev/gpiochipN "
                + "character device)"
                + (available.isEmpty ? "; this machine has no GPIO chips" : "; chips on this machine: " + available.joined(separator: ", "))
        case .operationFailed(let operation, let chip, let line, let errno):
            let place = line.map { "GPIO line \($0)" } ?? "GPIO chip \(chip)"
            return "\(operation) failed on \(place): \(errnoText(errno))"
        }
    }
}

extension GPIOError {
    /// The cause of `edgesNotSupported`, in the words technicians search logs for.
    public static let noInterruptText = "line has no interrupt; edges cannot be watched"

    /// The one place where an errno from libgpiod becomes a `GPIOError`.
    ///
    /// - Parameters:
    ///   - operation: what was being done, for the fallback message ("read value").
    ///   - line: the line's description (`gpiochip0:17 (DOOR)`), when a line was involved.
    ///   - bias: the bias that was requested; `EINVAL`/`EOPNOTSUPP` then means an old kernel.
    ///   - consumer: who holds the line, read by the caller after `EBUSY`.
    init(
        errno: Int32, operation: String, chip: String, line: String? = nil,
        bias: LineBias = .asIs, consumer: @autoclosure () -> String? = nil
    ) {
        switch errno {
        case EACCES, EPERM:
            self = .permissionDenied(chip: chip, line: line, errno: errno)
        case EBUSY where line != nil:
            self = .lineBusy(chip: chip, line: line!, consumer: consumer())
        case EINVAL where bias != .asIs && line != nil, EOPNOTSUPP where bias != .asIs && line != nil:
            self = .biasNotSupported(chip: chip, line: line!, bias: bias, errno: errno)
        case ENODEV:
            self = .chipGone(chip: chip, line: line, errno: errno)
        default:
            self = .operationFailed(operation: operation, chip: chip, line: line, errno: errno)
        }
    }
}

/// `strerror` text with the number, e.g. `Device or resource busy (errno 16)`.
func errnoText(_ errno: Int32) -> String {
    "\(String(cString: strerror(errno))) (errno \(errno))"
}

/// The running kernel's release, e.g. `5.4.0-1`, for messages about kernel features.
func kernelRelease() -> String {
    var names = utsname()
    guard uname(&names) == 0 else { return "an unknown kernel" }
    return withUnsafeBytes(of: &names.release) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
