import ControlProtocol
import Downlink
import Foundation
import Glibc
import Telemetry
import Testing
import TestSupport
@testable import Agent
@testable import LampdConfig

/// Kills a process that applies desired-state documents one after another with SIGKILL at random
/// moments (as the spool's kill -9 test does), and checks after each kill that the stored
/// document is whole and is the last one reported applied, or the next.
@Suite("Desired state under kill -9")
struct DesiredStateKillTests {
    static let cycles = 12

    @Test func aKilledApplyLeavesTheOldDocumentOrTheNewOneWhole() async throws {
        try await ChildSlots.withSlot { try await cycles() }
    }

    private func cycles() async throws {
        let state = Pole.temporaryDirectory()
        let keys = try CityFixture.keysDirectory()
        let child = Products.directory.appendingPathComponent("downlink-torture")
        try #require(FileManager.default.isExecutableFile(atPath: child.path),
                     "build the child first: swift build --build-tests (looked in \(Products.directory.path))")
        let seed = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
        var highestReported: UInt64 = 0
        var stored: UInt64 = 0
        for cycle in 0..<Self.cycles {
            let process = try ChildProcess(executable: child.path, arguments: [state, keys, seed], keepsLog: false)
            if cycle.isMultiple(of: 2) {
                try await process.transcript.wait(for: "downlink-torture's first apply") { UInt64($0) != nil }
            }
            // Not a wait for an event: the kill must land at a random moment.
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...200)))
            process.kill()
            let exit = await process.exitStatus
            #expect(exit == .signalled(SIGKILL), "downlink-torture \(exit) before it was killed: \(process.stderr)")
            let text = process.stdout
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
            let complete = text.hasSuffix("\n") ? lines : lines.dropLast()
            let reported = complete.compactMap { UInt64($0) }.max() ?? stored
            highestReported = max(highestReported, reported)

            // What lampd would find at its next start.
            let sink = RecordingSink()
            let applier = DesiredStateApplier(deviceID: "p", configuration: DownlinkConfiguration(keysDirectory: keys),
                                              stateDirectory: state, lighting: nil, sink: sink,
                                              timeSource: LightingTestClock("2026-01-01T00:00:00Z"), logger: silentLogger)
            await applier.restore()
            #expect(sink.events.isEmpty, "cycle \(cycle): the stored document is not whole: \(sink.events.map(\.message))")
            let version = await applier.status().applied.first?.version ?? 0
            #expect(version == highestReported || version == highestReported + 1,
                    "cycle \(cycle): reported \(highestReported) applied, found \(version) stored")
            stored = version
        }
        #expect(highestReported > 0, "the child never reported an applied document")
        print("downlink kill -9: \(Self.cycles) cycles, \(highestReported) documents reported applied, \(stored) stored")
    }
}
