import Foundation
import Synchronization
import Testing

@testable import Hardware
import Clocks

/// Plays the kernel over a temporary directory laid out like /sys/class/pwm:
/// writes go to real files, but first pass the rules the PWM core enforces.
/// Writing `export` creates `pwmN/` after a short delay, like the kernel and udev.
final class KernelRulesSysfs: SysfsAttributeAccess {
    let files = LiveSysfsAttributes()
    let writes = Mutex<[String]>([])
    let exportDelay: Duration
    let busyChannels: Set<Int>
    let deniedPaths: Set<String>

    init(exportDelay: Duration = .milliseconds(50), busyChannels: Set<Int> = [], deniedPaths: Set<String> = []) {
        self.exportDelay = exportDelay
        self.busyChannels = busyChannels
        self.deniedPaths = deniedPaths
    }

    func read(_ path: String) throws -> String { try files.read(path) }
    func exists(_ path: String) -> Bool { files.exists(path) }
    func isWritable(_ path: String) -> Bool { files.isWritable(path) }
    func list(_ directory: String) -> [String] { files.list(directory) }

    func write(_ value: String, to path: String) throws {
        if deniedPaths.contains(where: { path.hasSuffix($0) }) { throw SysfsAttributeError(path: path, errno: EACCES) }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        func number(_ name: String) -> UInt64 { UInt64((try? files.read("\(directory)/\(name)")) ?? "0") ?? 0 }
        switch url.lastPathComponent {
        case "export":
            guard let channel = Int(value) else { throw SysfsAttributeError(path: path, errno: EINVAL) }
            if busyChannels.contains(channel) { throw SysfsAttributeError(path: path, errno: EBUSY) }
            let channelPath = "\(directory)/pwm\(channel)"
            let delay = exportDelay
            // A real thread, like udev: a busy cooperative pool (other tests
            // running) must not delay the "kernel".
            let milliseconds = Int(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) {
                // Like sysfs, pwmN/ appears with all its attributes at once: build aside, then rename.
                let staging = "\(directory)/.staging-pwm\(channel)"
                try? FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
                for (name, contents) in [("period", "0"), ("duty_cycle", "0"), ("polarity", "normal"), ("enable", "0")] {
                    try? Data("\(contents)\n".utf8).write(to: URL(fileURLWithPath: "\(staging)/\(name)"))
                }
                try? FileManager.default.moveItem(atPath: staging, toPath: channelPath)
            }
        case "duty_cycle":
            guard let duty = UInt64(value), duty <= number("period") else {
                throw SysfsAttributeError(path: path, errno: EINVAL)
            }
        case "period":
            guard let period = UInt64(value), period >= number("duty_cycle") else {
                throw SysfsAttributeError(path: path, errno: EINVAL)
            }
        case "polarity":
            guard number("enable") == 0 else { throw SysfsAttributeError(path: path, errno: EBUSY) }
        default:
            break
        }
        writes.withLock { $0.append("\(url.lastPathComponent)=\(value)") }
        try files.write(value, to: path)
    }
}

/// A temporary sysfs PWM tree with `pwmchip0` of `npwm` channels.
func makePWMTree(npwm: Int = 2) throws -> TemporaryDirectory {
    let root = try TemporaryDirectory()
    try root.touch("pwmchip0/npwm", contents: "\(npwm)\n")
    try root.touch("pwmchip0/export")
    try root.touch("pwmchip0/unexport")
    return root
}

@Suite("PWM over sysfs")
struct PWMTests {
    @Test("Open exports the channel and waits for pwmN to appear")
    func exportAndWait() async throws {
        let root = try makePWMTree()
        let kernel = KernelRulesSysfs()
        let pwm = try await SysfsPWMChannel.open(chip: 0, channel: 1, root: root.path, files: kernel)
        #expect(pwm.description == "\(root.path)/pwmchip0/pwm1")
        #expect(kernel.writes.withLock { $0 } == ["export=1"])
        #expect(try await pwm.state() == PWMState(periodNanoseconds: 0, dutyCycleNanoseconds: 0, polarity: .normal, enabled: false))
    }

    @Test("Applying writes in an order the kernel accepts, both ways")
    func ordering() async throws {
        let root = try makePWMTree()
        let kernel = KernelRulesSysfs()
        let pwm = try await SysfsPWMChannel.open(chip: 0, channel: 0, root: root.path, files: kernel)

        let bright = PWMState(periodNanoseconds: 1_000_000, dutyCycleNanoseconds: 800_000, polarity: .normal, enabled: true)
        try await pwm.apply(bright)
        #expect(try await pwm.state() == bright)

        // Lower the period below the current duty: the duty must go first.
        let faster = PWMState(periodNanoseconds: 100_000, dutyCycleNanoseconds: 50_000, polarity: .normal, enabled: true)
        try await pwm.apply(faster)
        #expect(try await pwm.state() == faster)

        // Polarity changes only while disabled, then it is enabled again.
        let inversed = PWMState(periodNanoseconds: 100_000, dutyCycleNanoseconds: 50_000, polarity: .inversed, enabled: true)
        try await pwm.apply(inversed)
        #expect(try await pwm.state() == inversed)

        #expect(kernel.writes.withLock { $0 } == [
            "export=0",
            "period=1000000", "duty_cycle=800000", "enable=1",
            "duty_cycle=50000", "period=100000",
            "enable=0", "polarity=inversed", "enable=1",
        ])
    }

    @Test("The fake kernel really refuses a duty above the period")
    func fakeKernelIsStrict() async throws {
        let root = try makePWMTree()
        let kernel = KernelRulesSysfs()
        _ = try await SysfsPWMChannel.open(chip: 0, channel: 0, root: root.path, files: kernel)
        #expect(throws: SysfsAttributeError.self) {
            try kernel.write("10", to: "\(root.path)/pwmchip0/pwm0/duty_cycle")
        }
    }

    @Test("Duty above period is refused before anything is written")
    func invalidState() async throws {
        let root = try makePWMTree()
        let kernel = KernelRulesSysfs()
        let pwm = try await SysfsPWMChannel.open(chip: 0, channel: 0, root: root.path, files: kernel)
        let error = await #expect(throws: PWMError.self) {
            try await pwm.apply(PWMState(periodNanoseconds: 10, dutyCycleNanoseconds: 11, polarity: .normal, enabled: true))
        }
        #expect(error?.code == "pwm.invalid-value")
        #expect(kernel.writes.withLock { $0 } == ["export=0"])
    }

    @Test("Missing chip lists the chips present")
    func missingChip() async throws {
        let root = try makePWMTree()
        let error = await #expect(throws: PWMError.self) {
            _ = try await SysfsPWMChannel.open(chip: 3, channel: 0, root: root.path, files: KernelRulesSysfs())
        }
        #expect(error == .chipNotFound(chip: 3, root: root.path, available: ["pwmchip0"]))
        #expect(error?.description.contains("chips present: pwmchip0") == true)
    }

    @Test("Channel beyond npwm is out of range")
    func outOfRange() async throws {
        let root = try makePWMTree(npwm: 2)
        let error = await #expect(throws: PWMError.self) {
            _ = try await SysfsPWMChannel.open(chip: 0, channel: 2, root: root.path, files: KernelRulesSysfs())
        }
        #expect(error == .channelOutOfRange(chip: 0, channel: 2, channelCount: 2))
    }

    @Test("EBUSY on export means a driver holds the channel")
    func exportBusy() async throws {
        let root = try makePWMTree()
        let error = await #expect(throws: PWMError.self) {
            _ = try await SysfsPWMChannel.open(
                chip: 0, channel: 1, root: root.path, files: KernelRulesSysfs(busyChannels: [1]))
        }
        #expect(error == .exportBusy(chip: 0, channel: 1))
    }

    @Test("Permission denied points at the gpio group and udev")
    func permission() async throws {
        let root = try makePWMTree()
        let error = await #expect(throws: PWMError.self) {
            _ = try await SysfsPWMChannel.open(
                chip: 0, channel: 0, root: root.path, files: KernelRulesSysfs(deniedPaths: ["export"]))
        }
        #expect(error?.code == "pwm.permission-denied")
        #expect(error?.description.contains("'gpio' group") == true)
    }

    @Test("Export that never appears times out with a clear error")
    func exportTimeout() async throws {
        let root = try makePWMTree()
        let error = await #expect(throws: PWMError.self) {
            _ = try await SysfsPWMChannel.open(
                chip: 0, channel: 0, root: root.path, files: KernelRulesSysfs(exportDelay: .seconds(60)),
                exportTimeout: .milliseconds(100))
        }
        #expect(error?.code == "pwm.export-timed-out")
    }

    @Test("An already exported channel is not exported again")
    func alreadyExported() async throws {
        let root = try makePWMTree()
        for (name, contents) in [("period", "1000"), ("duty_cycle", "10"), ("polarity", "normal"), ("enable", "1")] {
            try root.touch("pwmchip0/pwm0/\(name)", contents: contents)
        }
        let kernel = KernelRulesSysfs()
        let pwm = try await SysfsPWMChannel.open(chip: 0, channel: 0, root: root.path, files: kernel)
        #expect(try await pwm.state().enabled)
        #expect(kernel.writes.withLock { $0 }.isEmpty)
    }

    @Test("Dimming maps percent to duty, optionally inverted for 0–10 V converters")
    func dimming() throws {
        let normal = PWMDimming(periodNanoseconds: 1_000_000)
        #expect(try normal.dutyCycleNanoseconds(percent: 0) == 0)
        #expect(try normal.dutyCycleNanoseconds(percent: 42.5) == 425_000)
        #expect(try normal.dutyCycleNanoseconds(percent: 100) == 1_000_000)
        let inverted = PWMDimming(periodNanoseconds: 1_000_000, inverted: true)
        #expect(try inverted.dutyCycleNanoseconds(percent: 100) == 0)
        #expect(try inverted.state(percent: 25).dutyCycleNanoseconds == 750_000)
        #expect(throws: PWMError.self) { try normal.dutyCycleNanoseconds(percent: 101) }
        #expect(throws: PWMError.self) { try normal.dutyCycleNanoseconds(percent: .nan) }
    }

    @Test("The simulated channel records states and refuses duty above period")
    func simulated() async throws {
        let pwm = SimulatedPWMChannel()
        let state = try PWMDimming().state(percent: 30)
        try await pwm.apply(state)
        #expect(try await pwm.state() == state)
        await #expect(throws: PWMError.self) {
            try await pwm.apply(PWMState(periodNanoseconds: 1, dutyCycleNanoseconds: 2, polarity: .normal, enabled: true))
        }
        #expect(pwm.history == [state])
    }
}
