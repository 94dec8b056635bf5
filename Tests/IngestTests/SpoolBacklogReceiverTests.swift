import Foundation
import Ingest
import Logging
import Synchronization
import Testing
@testable import Uplink

/// lamp-ingest reads the spool backlog a board signed into its batch header (-65541) and hands
/// it with the stored batch (to the live view through `onStored`, and again from the store).
@Suite struct SpoolBacklogReceiverTests {
    @Test func theReceiverHandsTheBacklogWithTheStoredBatchAndReadsItBackFromTheStore() async throws {
        var board = try TestBoard()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keysPath = directory.appendingPathComponent("enrolled-keys").path
        try EnrolledKeys.enroll(device: board.identity.deviceID, key: board.publicKey, comment: nil, path: keysPath)
        let store = try IngestStore(path: directory.appendingPathComponent("ingest.sqlite").path)
        let handed = Mutex<[Int64?]>([])
        let receiver = BatchReceiver(keys: try KeyRegistry(path: keysPath, logger: Logger(label: "backlog")), store: store) { _, batch, _, _ in
            handed.withLock { $0.append(batch.spoolBacklog) }
        }
        // A board that sends it, then one batch without it (an older lampd): unknown, not zero.
        var previousHash: [UInt8] = []
        for (index, backlog) in ([120, 0, nil] as [UInt64?]).enumerated() {
            let payload = try BatchBuilder(deviceID: board.identity.deviceID).build(records: board.records(count: 2))
            let batch = BatchSigner(identity: board.identity).sign(
                payload: payload, sequence: UInt64(index + 1), previousHash: previousHash, spoolBacklog: backlog)
            previousHash = batch.hash
            let ack = try await receiver.receive(IncomingBatch(body: batch.bytes, contentType: "application/cose", contentEncoding: nil))
            #expect(ack.status == .stored)
        #expect(ack.gap == nil)
        }
        #expect(handed.withLock { $0 } == [120, 0, nil])
        var fromStore: [Int64?] = []
        try await SenMLExporter(store: store).forEachVerifiedBatch(ExportFilter()) { _, batch in fromStore.append(batch.spoolBacklog) }
        #expect(fromStore == [120, 0, nil])
    }
}
