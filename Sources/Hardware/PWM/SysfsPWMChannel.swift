import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One PWM channel driven through the kernel's sysfs interface:
/// `<root>/pwmchipN/pwmM/{period,duty_cycle,polarity,enable}`.
///
/// `open(chip:channel:)` exports the channel when needed and waits for
/// `pwmM/` to appear and become writable (udev may fix its permissions a moment
/// after export). `apply(_:)` writes only what changed, in an order the kernel
/// accepts: duty cycle never above the period at any step, polarity only while
/// disabled, enable last (disable first). File access runs on this channel's
/// own serial queue, never on Swift's cooperative pool.
public final class SysfsPWMChannel: PWMChannel {
    /// Chip number N of `pwmchipN`.
    public let chip: Int
    /// Channel number M of `pwmM`.
    public let channel: Int
    /// The sysfs PWM class directory, normally `/sys/class/pwm`.
    public let root: String
    private let files: any SysfsAttributeAccess
    private let queue: DispatchQueue

    /// `/sys/class/pwm/pwmchip0/pwm1`.
    public var description: String { channelPath }
    private var chipPath: String { "\(root)/pwmchip\(chip)" }
    private var channelPath: String { "\(chipPath)/pwm\(channel)" }

    private init(chip: Int, channel: Int, root: String, files: any SysfsAttributeAccess) {
        self.chip = chip
        self.channel = channel
        self.root = root
        self.files = files
        self.queue = DispatchQueue(label: "lampd.pwm.\(chip).\(channel)")
    }

    /// Opens (exporting if needed) channel `channel` of `pwmchip<chip>`.
    ///
    /// - Parameters:
    ///   - root: the sysfs PWM directory; tests pass a temporary directory.
    ///   - files: the file access seam; tests pass one that plays the kernel.
    ///   - exportTimeout: how long to wait for `pwmM/` to appear and be writable.
    /// - Throws: `PWMError.chipNotFound`, `.channelOutOfRange`, `.exportBusy`,
    ///   `.permissionDenied`, `.exportTimedOut`.
    public static func open(
        chip: Int, channel: Int, root: String = "/sys/class/pwm",
        files: any SysfsAttributeAccess = LiveSysfsAttributes(),
        exportTimeout: Duration = .seconds(2)
    ) async throws -> SysfsPWMChannel {
        let pwm = SysfsPWMChannel(chip: chip, channel: channel, root: root, files: files)
        try await pwm.queue.perform { try pwm.export(timeout: exportTimeout) }
        return pwm
    }

    /// Writes `state`; see the type's documentation for the order.
    ///
    /// - Throws: `PWMError.invalidValue` before writing anything if the duty
    ///   cycle exceeds the period; the kernel's refusal otherwise.
    public func apply(_ state: PWMState) async throws {
        guard state.dutyCycleNanoseconds <= state.periodNanoseconds else {
            throw PWMError.invalidValue(
                path: "\(channelPath)/duty_cycle", value: "\(state.dutyCycleNanoseconds)",
                reason: "duty cycle is longer than the period (\(state.periodNanoseconds) ns)")
        }
        try await queue.perform { try self.applyOnQueue(state) }
    }

    public func state() async throws -> PWMState {
        try await queue.perform { try self.readState() }
    }

    /// Gives the channel back to the kernel (`unexport`); optional — an
    /// exported channel survives until reboot.
    public func unexport() async throws {
        try await queue.perform { try self.write("\(self.channel)", "\(self.chipPath)/unexport") }
    }

    // MARK: On the queue

    private func export(timeout: Duration) throws {
        guard files.exists(chipPath) else {
            let available = files.list(root).filter { $0.hasPrefix("pwmchip") }.sorted()
            throw PWMError.chipNotFound(chip: chip, root: root, available: available)
        }
        let npwmPath = "\(chipPath)/npwm"
        let npwmText = try read(npwmPath)
        guard let channelCount = Int(npwmText) else { throw PWMError.unreadable(path: npwmPath, text: npwmText) }
        guard channel >= 0, channel < channelCount else {
            throw PWMError.channelOutOfRange(chip: chip, channel: channel, channelCount: channelCount)
        }
        if !files.exists(channelPath) {
            do {
                try files.write("\(channel)", to: "\(chipPath)/export")
            } catch let error as SysfsAttributeError where error.errno == EBUSY {
                // EBUSY: either we raced another exporter (the directory now exists) or a driver holds it.
                if !files.exists(channelPath) { throw PWMError.exportBusy(chip: chip, channel: channel) }
            } catch let error as SysfsAttributeError {
                throw PWMError(error)
            }
        }
        // Wait for the kernel to create pwmM/ and udev to make it writable.
        let deadline = ContinuousClock.now + timeout
        while !(files.exists(channelPath) && files.isWritable("\(channelPath)/period")) {
            guard ContinuousClock.now < deadline else {
                throw PWMError.exportTimedOut(path: channelPath, waited: timeout)
            }
            usleep(10_000)
        }
    }

    private func applyOnQueue(_ target: PWMState) throws {
        var current = try readState()
        // Disable first when switching off or when polarity must change.
        if current.enabled && (!target.enabled || current.polarity != target.polarity) {
            try write("0", "\(channelPath)/enable")
            current.enabled = false
        }
        // Never let duty exceed period at any step: when the new period is
        // below the current duty cycle, lower the duty cycle first.
        if target.periodNanoseconds < current.dutyCycleNanoseconds {
            try writeDuty(target, current: &current)
            try writePeriod(target, current: &current)
        } else {
            try writePeriod(target, current: &current)
            try writeDuty(target, current: &current)
        }
        if current.polarity != target.polarity {
            try write(target.polarity.rawValue, "\(channelPath)/polarity")
        }
        if target.enabled && !current.enabled {
            try write("1", "\(channelPath)/enable")
        }
    }

    private func writePeriod(_ target: PWMState, current: inout PWMState) throws {
        guard target.periodNanoseconds != current.periodNanoseconds else { return }
        try write("\(target.periodNanoseconds)", "\(channelPath)/period")
        current.periodNanoseconds = target.periodNanoseconds
    }

    private func writeDuty(_ target: PWMState, current: inout PWMState) throws {
        guard target.dutyCycleNanoseconds != current.dutyCycleNanoseconds else { return }
        try write("\(target.dutyCycleNanoseconds)", "\(channelPath)/duty_cycle")
        current.dutyCycleNanoseconds = target.dutyCycleNanoseconds
    }

    private func readState() throws -> PWMState {
        func number(_ attribute: String) throws -> UInt64 {
            let path = "\(channelPath)/\(attribute)"
            let text = try read(path)
            guard let value = UInt64(text) else { throw PWMError.unreadable(path: path, text: text) }
            return value
        }
        let polarityPath = "\(channelPath)/polarity"
        let polarityText = try read(polarityPath)
        guard let polarity = PWMPolarity(rawValue: polarityText) else {
            throw PWMError.unreadable(path: polarityPath, text: polarityText)
        }
        return PWMState(
            periodNanoseconds: try number("period"),
            dutyCycleNanoseconds: try number("duty_cycle"),
            polarity: polarity,
            enabled: try number("enable") != 0)
    }

    private func read(_ path: String) throws -> String {
        do { return try files.read(path) } catch let error as SysfsAttributeError { throw PWMError(error) }
    }

    private func write(_ value: String, _ path: String) throws {
        do { try files.write(value, to: path) } catch let error as SysfsAttributeError {
            throw PWMError(error, value: value)
        }
    }
}
