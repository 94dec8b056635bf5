import FleetTestSupport
import Foundation
import FleetView
import Hummingbird
import HummingbirdTesting
import Ingest
import Logging
import Testing
@testable import LiveView

/// An alarm acknowledgement survives a restart: a new live view over the same store and audit log
/// takes it back (docs/live-view.md "Audit"), skipping a torn line.
@Suite struct LiveViewAcknowledgementTests {
    @Test func anAcknowledgementSurvivesANewLiveViewOverTheSameFiles() async throws {
        var board = try FleetBoard(device: "pole-0001")
        // A minute ago, so that a rebuild (the last 24 h of the store) reads it.
        let secondsSinceBase = Int64(Date().timeIntervalSince1970) - FleetBoard.baseUTCNanoseconds / 1_000_000_000
        let opened = try board.next([FleetBoard.event("cabinet.door.opened", at: secondsSinceBase - 60, message: "door opened")])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("live-view-ack-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await LiveViewHarness.with(boards: [board], directory: directory) { harness in
            try await harness.store(opened)
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/poles/pole-0001/acknowledge", method: .post, headers: harness.cookie("alice", role: .operator),
                                         body: ByteBuffer(string: "alarm=cabinet.door&note=sent+a+technician")) { response in
                    #expect(response.status == .seeOther)
                }
            }
        }
        // A crash tore a line, and someone appended a line by hand: both are skipped.
        let log = try FileHandle(forWritingTo: directory.appendingPathComponent("audit.log"))
        try log.seekToEnd()
        try log.write(contentsOf: Data("not json\n{\"at\":\"2026-".utf8))
        try log.close()
        try await LiveViewHarness.with(boards: [board], directory: directory) { harness in
            #expect(await harness.fleet.summary(device: "pole-0001")?.alarms.first?.acknowledged == nil, "a new FleetState starts empty")
            try await harness.fleet.rebuild(from: harness.store)
            let restored = await Acknowledgements.restore(into: harness.fleet, from: harness.view.configuration.auditLog, logger: Logger(label: "test"))
            #expect(restored == 1)
            let alarm = try #require(await harness.fleet.summary(device: "pole-0001")?.alarms.first { $0.alarm == "cabinet.door" })
            #expect(alarm.acknowledged?.by == "alice" && alarm.acknowledged?.note == "sent a technician")
            #expect(await harness.view.configuration.auditLog.read().malformedLines == [2, 3])
        }
    }

    @Test func anAcknowledgementOfAnAlarmNoLongerActiveIsNotRestored() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("live-view-ack-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await LiveViewHarness.with(directory: directory) { harness in
            try await harness.view.configuration.auditLog.append(AuditLog.Entry(
                at: Date(), user: "alice", action: "acknowledge", device: "pole-0001", alarm: "cabinet.door", note: "old"))
            #expect(await Acknowledgements.restore(into: harness.fleet, from: harness.view.configuration.auditLog, logger: Logger(label: "test")) == 0)
        }
    }

    /// Four replicas on one host appending to one audit file at once lose no line and tear none.
    @Test func fourWritersSharingOneAuditFileLoseNoLine() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let logs = try (0..<4).map { _ in try AuditLog(path: path) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (writer, log) in logs.enumerated() {
                group.addTask {
                    for number in 0..<500 {
                        try await log.append(AuditLog.Entry(at: Date(), user: "writer\(writer)", action: "acknowledge", device: "pole-\(number)",
                                                            alarm: "cabinet.door", note: String(repeating: "n", count: 200)))
                    }
                }
            }
            try await group.waitForAll()
        }
        let contents = await logs[0].read()
        #expect(contents.malformedLines.isEmpty)
        #expect(contents.entries.count == 2000)
    }
}
