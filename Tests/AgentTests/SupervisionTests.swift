import Foundation
import Glibc
import Testing
@testable import Agent

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
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-notify-\(getpid()).sock").path
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            path.utf8CString.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        setenv("NOTIFY_SOCKET", path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }

        let notifier = SystemdNotifier()
        #expect(notifier.send("READY=1\nSTATUS=ok"))
        notifier.status("two\nlines")
        var buffer = [UInt8](repeating: 0, count: 512)
        let first = recv(fd, &buffer, buffer.count, 0)
        #expect(String(decoding: buffer[0..<max(0, first)], as: UTF8.self) == "READY=1\nSTATUS=ok")
        let second = recv(fd, &buffer, buffer.count, 0)
        #expect(String(decoding: buffer[0..<max(0, second)], as: UTF8.self) == "STATUS=two lines")
    }

    @Test func outsideSystemdNothingIsSent() {
        unsetenv("NOTIFY_SOCKET")
        #expect(SystemdNotifier().send("READY=1") == false)
        #expect(SystemdNotifier().watchdogInterval == nil)
    }
}
