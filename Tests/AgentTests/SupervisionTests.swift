import Foundation
import Glibc
import Testing
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

    /// The watchdog is fed while loops beat, and no longer once one stalls.
    @Test func aStalledLoopStopsTheKeepAlives() async throws {
        let socket = try FakeSystemdSocket()
        let heartbeats = LoopHeartbeats()
        heartbeats.register("lighting", maximumSilenceSeconds: 0.3, atSeconds: ContinuousClock.processSeconds)
        let watchdog = WatchdogService(
            heartbeats: heartbeats, notifier: SystemdNotifier(socketPath: socket.path), interval: .milliseconds(50), logger: silentLogger)
        let task = Task { try await watchdog.run() }
        defer { task.cancel() }
        // Beating: keep-alives arrive.
        for _ in 0..<6 {
            heartbeats.beat("lighting", atSeconds: ContinuousClock.processSeconds)
            try await Task.sleep(for: .milliseconds(50))
        }
        var messages = socket.drain()
        #expect(messages.contains("WATCHDOG=1"))
        // Stalled: after the silence limit, only status lines, no keep-alive.
        try await Task.sleep(for: .milliseconds(500))
        _ = socket.drain()
        try await Task.sleep(for: .milliseconds(300))
        messages = socket.drain()
        #expect(!messages.isEmpty)
        #expect(!messages.contains("WATCHDOG=1"), "\(messages)")
        #expect(messages.allSatisfy { $0.hasPrefix("STATUS=stalled: lighting") }, "\(messages)")
    }
}
