import ControlProtocol
@testable import LampdConfig
import Foundation
import Glibc
import Hardware
import Telemetry
import Testing
import TestSupport
@testable import Agent

/// A regular file standing in for /dev/watchdog: ioctl fails on it (ENOTTY), so
/// `WatchdogDevice` falls back to writes, and the file records every byte written.
struct FakeWatchdogFile {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("watchdog-\(UUID().uuidString.prefix(8))").path

    init() throws { try Data().write(to: URL(fileURLWithPath: path)) }

    var bytes: [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }
    var feeds: Int { bytes.count { $0 == 0 } }

    func remove() { unlink(path) }
}

@Suite("Hardware watchdog", .serialized)
struct HardwareWatchdogTests {
    @Test func aFileWithoutIoctlIsFedByWritesAndDisarmedWithV() throws {
        let file = try FakeWatchdogFile()
        defer { file.remove() }
        let device = try WatchdogDevice.open(path: file.path, timeoutSeconds: 30)
        #expect(device.timeoutSeconds == nil, "WDIOC_SETTIMEOUT is not supported by a plain file")
        try device.keepAlive()
        try device.keepAlive()
        try device.magicClose()
        #expect(file.bytes == [0, 0, UInt8(ascii: "V")])
    }

    @Test func aFIFOWorksTheSameWay() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("watchdog-fifo-\(UUID().uuidString.prefix(8))").path
        try #require(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        try #require(reader >= 0)
        defer { close(reader) }
        let device = try WatchdogDevice.open(path: path, timeoutSeconds: 10)
        try device.keepAlive()
        try device.magicClose()
        var buffer = [UInt8](repeating: 9, count: 8)
        #expect(read(reader, &buffer, 8) == 2)
        #expect(buffer.prefix(2) == [0, UInt8(ascii: "V")])
    }

    @Test func aMissingDeviceIsAClearError() {
        #expect {
            try WatchdogDevice.open(path: "/nonexistent/watchdog", timeoutSeconds: 30)
        } throws: { error in
            let error = error as? WatchdogError
            return error?.code == "watchdog.open-failed" && error?.description.contains("is the watchdog driver loaded?") == true
        }
    }

    @Test func feedingStopsWhenALoopStallsAndAStopDisarms() async throws {
        let file = try FakeWatchdogFile()
        defer { file.remove() }
        let heartbeats = LoopHeartbeats()
        heartbeats.register("sampling", maximumSilenceSeconds: 0.3, atSeconds: heartbeats.nowSeconds)
        let service = HardwareWatchdogService(
            configuration: WatchdogConfiguration(device: file.path, timeout: .seconds(5)), heartbeats: heartbeats,
            interval: .milliseconds(20), logger: silentLogger)
        let running = Task { try await service.run() }
        let beating = Task {
            while !Task.isCancelled {
                heartbeats.beat("sampling", atSeconds: heartbeats.nowSeconds)
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        // Deadlines rather than fixed sleeps: other suites load the machine in parallel.
        try await waitUntil { file.feeds >= 5 }
        #expect(file.feeds >= 5, "fed while the loop beats: \(file.feeds)")
        #expect(service.status.check(device: file.path, atSeconds: heartbeats.nowSeconds).outcome == .pass)

        beating.cancel()  // the loop hangs
        try await waitUntil { service.status.current.stalled != nil }
        let atStall = file.feeds
        try await Task.sleep(for: .milliseconds(300))
        #expect(file.feeds == atStall, "no feeding while a loop is stalled")
        let check = service.status.check(device: file.path, atSeconds: heartbeats.nowSeconds)
        #expect(check.outcome == .fail)
        #expect(check.detail.contains("stalled sampling"), "\(check.detail)")

        running.cancel()  // clean shutdown
        _ = try? await running.value
        #expect(file.bytes.last == UInt8(ascii: "V"), "disarmed with the magic close")
        #expect(service.status.current.armed == false)
    }

    /// Polls `condition` every 20 ms until it holds; the deadline only guards against a hang.
    func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + HangGuard.duration
        while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    @Test func anUnavailableDeviceRaisesAnAlarmAndLampdKeepsRunning() async throws {
        let sink = RecordingSink()
        let service = HardwareWatchdogService(
            configuration: WatchdogConfiguration(device: "/nonexistent/watchdog"), heartbeats: LoopHeartbeats(),
            sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
        let running = Task { try await service.run() }
        try await waitUntil { !sink.events.isEmpty }
        #expect(sink.events.map(\.kind) == ["watchdog.unavailable"])
        #expect(service.status.check(device: "/nonexistent/watchdog", atSeconds: 0).outcome == .fail)
        running.cancel()
        _ = try? await running.value
    }

    @Test func configurationIsCheckedWithLineAndColumn() throws {
        let defaults = try LampdConfiguration.parse("""
            [board]
            kind = "live"
            id = "p"
            [watchdog]
            """)
        #expect(defaults.watchdog == WatchdogConfiguration(device: "/dev/watchdog", timeout: .seconds(30)))
        #expect(try LampdConfiguration.parse("[board]\nkind = \"live\"\nid = \"p\"\n").watchdog == nil)

        do {
            _ = try LampdConfiguration.parse("""
                [board]
                kind = "live"
                id = "p"
                [watchdog]
                device = "watchdog0"
                timeout = "1s"
                petting = true
                """, file: "w.toml")
            Issue.record("expected errors")
        } catch {
            let text = error.errors.map(\.description)
            #expect(text.contains { $0.hasPrefix("w.toml:5:") && $0.contains("watchdog.device") && $0.contains("not an absolute path") }, "\(text)")
            #expect(text.contains { $0.hasPrefix("w.toml:6:") && $0.contains("out of range") }, "\(text)")
            #expect(text.contains { $0.contains("watchdog.petting") && $0.contains("unknown key") }, "\(text)")
        }
    }
}
