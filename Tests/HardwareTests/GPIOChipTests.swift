import Foundation
import Testing

@testable import Hardware

/// The libgpiod path, as far as a machine without GPIO chips allows.
@Suite("GPIO chips through libgpiod")
struct GPIOChipTests {
    @Test("Opening a chip on a machine without chips names it and says none exist")
    func missingChipWithNoChips() async throws {
        let empty = try TemporaryDirectory()
        let error = try await #require(throws: GPIOError.self) {
            _ = try await GPIOChip.open("gpiochip0", devDirectory: empty.path)
        }
        #expect(error.code == "gpio.no-chips")
        #expect(error.description.contains("'gpiochip0'"))
        #expect(error.description.contains("no GPIO chips on this machine (/dev/gpiochip* absent)"))
    }

    @Test("Opening a chip that is not there lists the chips that are")
    func missingChipListsOthers() async throws {
        // libgpiod looks in the real /dev; the list of what exists comes from devDirectory.
        let dev = try TemporaryDirectory()
        try dev.touch("gpiochip10")
        try dev.touch("gpiochip2")
        try dev.touch("ttyS0")
        let error = try await #require(throws: GPIOError.self) {
            _ = try await GPIOChip.open("no-such-label", devDirectory: dev.path)
        }
        #expect(error.code == "gpio.chip-not-found")
        #expect(error == .chipNotFound(requested: "no-such-label", available: ["gpiochip2", "gpiochip10"]))
        #expect(error.description.contains("chips on this machine: gpiochip2, gpiochip10"))
    }

    @Test("A path, a number and a label that do not exist all give a named error", arguments: [
        "/dev/gpiochip7", "7", "pinctrl-bcm2835",
    ])
    func everyDescriptorForm(descriptor: String) async throws {
        let error = try await #require(throws: GPIOError.self) {
            _ = try await GPIOChip.open(descriptor, devDirectory: try TemporaryDirectory().path)
        }
        #expect(error.code == "gpio.no-chips")
        #expect(error.description.contains("'\(descriptor)'"))
    }

    @Test("Listing all chips on a machine without any says so")
    func listWithoutChips() async throws {
        let error = try await #require(throws: GPIOError.self) {
            _ = try await GPIOChip.allChips(devDirectory: try TemporaryDirectory().path)
        }
        #expect(error.code == "gpio.no-chips")
    }

    @Test("errno maps to actionable errors")
    func errnoMapping() {
        let line = "gpiochip0:17 (LAMP_RELAY)"
        let permission = GPIOError(errno: EACCES, operation: "open", chip: "gpiochip0")
        #expect(permission.code == "gpio.permission-denied")
        #expect(permission.description.contains("'gpio' group"))
        #expect(permission.description.contains("udev"))

        let busy = GPIOError(errno: EBUSY, operation: "request", chip: "gpiochip0", line: line, consumer: "lampd")
        #expect(busy == .lineBusy(chip: "gpiochip0", line: line, consumer: "lampd"))
        #expect(busy.description.contains("held by 'lampd'"))

        let bias = GPIOError(errno: EINVAL, operation: "request", chip: "gpiochip0", line: line, bias: .pullUp)
        #expect(bias.code == "gpio.bias-not-supported")
        #expect(bias.description.contains("Linux 5.5 or later"))
        #expect(bias.errno == EINVAL)

        let plainInvalid = GPIOError(errno: EINVAL, operation: "request line", chip: "gpiochip0", line: line)
        #expect(plainInvalid.code == "gpio.io-error")
        #expect(plainInvalid.description.contains("request line failed on GPIO line \(line)"))
    }

    @Test("Line selectors: digits are offsets, anything else a name")
    func selectors() {
        #expect(GPIOLineSelector("17") == .offset(17))
        #expect(GPIOLineSelector("GPIO17") == .name("GPIO17"))
        #expect(GPIOLineSelector("-1") == .name("-1"))
        #expect(GPIOLineSelector("") == .name(""))
    }
}

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "lampd-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func touch(_ name: String, contents: String = "") throws {
        let url = URL(fileURLWithPath: path).appendingPathComponent(name)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
    }

    func makeDirectory(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: "\(path)/\(name)", withIntermediateDirectories: true)
    }
}
