import FleetTestSupport
import Foundation
import FleetView
import Hummingbird
import Ingest
import Telemetry
import TestSupport
import Testing
@testable import LiveView

/// The live view in a real browser (Debian's headless Chromium, driven by
/// Tests/Peers/live_view_browser.py over the DevTools protocol): sign in, the map and the list show
/// the fleet, a cabinet door opened at one pole shows on the open page without a reload.
@Suite struct LiveViewBrowserTests {
    static let chromium = "/usr/bin/chromium"
    static var required: Bool { ProcessInfo.processInfo.environment["LAMPD_REQUIRE_BROWSER"] != nil }
    static var runnable: Bool { FileManager.default.isExecutableFile(atPath: chromium) || required }

    static let poles = (1...200).map { index in
        Pole(device: String(format: "pole-%04d", index), label: "Avenue \(index)",
             latitudeDegrees: 50.80 + Double(index % 20) * 0.004, longitudeDegrees: 4.30 + Double(index / 20) * 0.006, ratedPowerWatts: 60)
    }

    @Test(.enabled(if: runnable, "chromium is not installed (scripts/setup --test installs it; LAMPD_REQUIRE_BROWSER=1 makes this a failure)"))
    func aDoorOpenedAtAPoleShowsOnTheOpenPageWithoutAReload() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.chromium), "chromium is required (LAMPD_REQUIRE_BROWSER) but \(Self.chromium) is missing")
        var board = try FleetBoard(device: "pole-0007")
        let opened = try board.next([FleetBoard.event("cabinet.door", at: 1, value: .boolean(true), message: "cabinet door opened")])
        try await LiveViewHarness.with(poles: Self.poles, boards: [board]) { harness in
            let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
            let app = harness.application { _, port in portSink.yield(port) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.runService() }
                defer { group.cancelAll() }
                var portIterator = ports.makeAsyncIterator()
                let port = try #require(await portIterator.next())
                var arguments = [
                    Products.peer("live_view_browser.py"), "--url", "http://127.0.0.1:\(port)", "--user", "alice",
                    "--password", LiveViewHarness.operatorPassword, "--poles", "\(Self.poles.count)", "--device", "pole-0007",
                    "--alarm", "Cabinet door open", "--chromium", Self.chromium,
                    "--profile", harness.directory.appendingPathComponent("chromium").path,
                ]
                if let screenshot = ProcessInfo.processInfo.environment["LAMPD_LIVE_VIEW_SCREENSHOT"] { arguments += ["--screenshot", screenshot] }
                let browser = try ChildProcess(executable: "/usr/bin/env", arguments: ["python3", "-u"] + arguments)
                try await browser.transcript.wait(for: "anonymous-refused") { $0 == "anonymous-refused" }
                let ready = try await browser.transcript.wait(for: "ready ROWS MARKERS") { $0.hasPrefix("ready ") }
                let readyParts = ready.split(separator: " ")
                #expect(readyParts.count == 3 && Int(readyParts[1]) == Self.poles.count && Int(readyParts[2]) == Self.poles.count, "\(ready)")
                let stored = ContinuousClock.now
                try await harness.store(opened)
                let seen = try await browser.transcript.wait(for: "alarm-seen MS") { $0.hasPrefix("alarm-seen ") || $0.hasPrefix("error ") }
                #expect(seen.hasPrefix("alarm-seen "), "\(browser.transcript.last())")
                print("live view: door opened → shown on the open page: \(seen.dropFirst("alarm-seen ".count)) ms after ready (\(ContinuousClock.now - stored) after the store, as the test saw it)")
                let status = try await browser.waitForExit()
                #expect(status == .exited(0), "\(browser.transcript.last())")
            }
        }
    }
}
