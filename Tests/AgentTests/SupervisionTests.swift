import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent

/// A Unix datagram socket standing in for systemd's notify socket.
final class FakeSystemdSocket {
    let path: String
    private let fd: Int32

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-notify-\(UUID().uuidString.prefix(8)).sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = self.path
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            path.utf8CString.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
    }

    /// The next message, waiting up to `timeoutMilliseconds`.
    func receive(timeoutMilliseconds: Int32 = 2000) -> String? {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, timeoutMilliseconds) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
    }

    /// Every message waiting now.
    func drain() -> [String] {
        var messages: [String] = []
        while let message = receive(timeoutMilliseconds: 0) { messages.append(message) }
        return messages
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

@Suite("Supervision")
struct SupervisionTests {
    @Test func aSilentLoopIsReportedStalledOthersAreNot() {
        let heartbeats = LoopHeartbeats()
        heartbeats.register("sampling", maximumSilenceSeconds: 30, atSeconds: 0)
        heartbeats.register("lighting", maximumSilenceSeconds: 10, atSeconds: 0)
        #expect(heartbeats.stalled(atSeconds: 10).isEmpty)
        heartbeats.beat("sampling", atSeconds: 25)
        let stalled = heartbeats.stalled(atSeconds: 30)
        #expect(stalled.map(\.name) == ["lighting"])
        #expect(stalled.first?.silentSeconds == 30)
        heartbeats.beat("lighting", atSeconds: 31)
        #expect(heartbeats.stalled(atSeconds: 40).isEmpty)
        #expect(heartbeats.stalled(atSeconds: 56).map(\.name) == ["lighting", "sampling"])
        heartbeats.unregister("sampling")
        #expect(heartbeats.stalled(atSeconds: 41).isEmpty)
    }

    /// sd_notify against a datagram socket standing in for systemd's.
    @Test func notifierSpeaksTheSystemdProtocol() throws {
        let socket = try FakeSystemdSocket()
        let notifier = SystemdNotifier(socketPath: socket.path)
        #expect(notifier.send("READY=1\nSTATUS=ok"))
        notifier.status("two\nlines")
        #expect(socket.receive() == "READY=1\nSTATUS=ok")
        #expect(socket.receive() == "STATUS=two lines")
    }

    @Test func outsideSystemdNothingIsSent() {
        #expect(SystemdNotifier(socketPath: nil).send("READY=1") == false)
    }

    /// The watchdog is fed while loops beat, and no longer once one stalls. Waits on the messages
    /// (events), not on sleeps racing a busy machine: a loaded machine may stretch a beat past the
    /// silence limit, so the test beats until a keep-alive arrives, then stops beating and requires
    /// that what follows the first `stalled` status holds no keep-alive.
    @Test func aStalledLoopStopsTheKeepAlives() async throws {
        let socket = try NotifySocket()
        defer { socket.close() }
        let heartbeats = LoopHeartbeats()
        heartbeats.register("lighting", maximumSilenceSeconds: 0.3, atSeconds: heartbeats.nowSeconds)
        let watchdog = WatchdogService(
            heartbeats: heartbeats, notifier: SystemdNotifier(socketPath: socket.path), interval: .milliseconds(50), logger: silentLogger)
        let task = Task { try await watchdog.run() }
        defer { task.cancel() }
        // Beating: keep-alives arrive.
        let beating = Task {
            while !Task.isCancelled {
                heartbeats.beat("lighting", atSeconds: heartbeats.nowSeconds)
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        _ = try await socket.messages.wait(for: "a keep-alive while the loop beats") { $0 == "WATCHDOG=1" }
        beating.cancel()
        await beating.value
        // Stalled: once the watchdog says so, only status lines follow, no keep-alive.
        let mark = socket.messages.count
        _ = try await socket.messages.wait(for: "the stalled status", from: mark) { $0.hasPrefix("STATUS=stalled: lighting") }
        let stalledAt = socket.messages.lines.lastIndex { $0.hasPrefix("STATUS=stalled: lighting") } ?? mark
        _ = try await socket.messages.wait(for: "three more messages after the stall", count: 3, from: stalledAt + 1) { _ in true }
        let after = Array(socket.messages.lines[(stalledAt + 1)...])
        #expect(!after.contains("WATCHDOG=1"), "\(after)")
        #expect(after.allSatisfy { $0.hasPrefix("STATUS=stalled: lighting") }, "\(after)")
    }
}
