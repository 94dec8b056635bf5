import FleetTestSupport
import Foundation
import Ingest
import Testing
import Uplink
@testable import FleetView

/// What a restart of lamp-ingest rebuilds (`FleetState.rebuild`) must show what the live feed
/// showed: a data gap between stored batches, and the spool backlog of the newest-sent batch.
@Suite struct FleetRebuildTests {
    static let device = FleetStateTests.pole.device

    /// The board's batches 1…`count`, one reading each; `backlogs[i]` is batch i + 1's header.
    static func batches(_ count: Int, backlogs: [UInt64?] = []) throws -> [SignedBatch] {
        var board = try FleetBoard(device: device)
        return try (0..<count).map { index in
            try board.next([FleetBoard.reading("meter.active_power", 60, at: Int64(index + 1))],
                           spoolBacklog: index < backlogs.count ? backlogs[index] : nil)
        }
    }

    /// Stores `batches` in this order as the receiver does, feeding each stored one to a live
    /// FleetState as lamp-ingest does; then rebuilds a second FleetState from the store.
    static func liveAndRebuilt(_ batches: [SignedBatch]) async throws -> (live: PoleSummary, rebuilt: PoleSummary) {
        let clock = TestClock()
        let inventory = PoleInventory(poles: [FleetStateTests.pole])
        let live = FleetState(inventory: inventory, now: { clock.now })
        let restarted = FleetState(inventory: inventory, now: { clock.now })
        let key = try FleetBoard(device: device).publicKey
        try await withTemporaryStore { store in
            for batch in batches {
                let verified = try BatchVerifier.verify(bytes: batch.bytes, publicKey: key)
                let acceptance = try await store.accept(verified, bytes: batch.bytes, publicKey: key, receivedAt: clock.now)
                await live.apply(device: device, batch: verified, acceptance: acceptance, receivedAt: clock.now)
            }
            try await restarted.rebuild(from: store)
        }
        return (try #require(await live.summary(device: device)), try #require(await restarted.summary(device: device)))
    }

    @Test func aSequenceGapInTheWindowShowsAfterARebuild() async throws {
        let batches = try Self.batches(4)
        // Batch 3 never arrived.
        let (live, rebuilt) = try await Self.liveAndRebuilt([batches[0], batches[1], batches[3]])
        #expect(live.condition == .dataGap)
        #expect(rebuilt.condition == .dataGap)
    }

    @Test func aLateBatchThatFillsTheGapClearsItAfterARebuildToo() async throws {
        let batches = try Self.batches(4)
        let (live, rebuilt) = try await Self.liveAndRebuilt([batches[0], batches[1], batches[3], batches[2]])
        #expect(live.condition == .ok)
        #expect(rebuilt.condition == .ok)
    }

    @Test func aBatchWhosePreviousHashDoesNotMatchIsAGapAfterARebuild() async throws {
        // Batch 3 of another chain (the board lost its state): same sequence order, broken hash chain.
        let batches = try Self.batches(2)
        var other = try FleetBoard(device: Self.device)
        let foreign = try (0..<3).map { _ in try other.next([FleetBoard.reading("meter.active_power", 1, at: 9)]) }
        let (live, rebuilt) = try await Self.liveAndRebuilt(batches + [foreign[2]])
        #expect(live.condition == .dataGap)
        #expect(rebuilt.condition == .dataGap)
    }

    @Test func theBacklogComesFromTheNewestSentBatchNotALateOne() async throws {
        let batches = try Self.batches(4, backlogs: [50, 20, 12, 5])
        // Batch 3 (backlog 12) arrives last, after batch 4 (backlog 5).
        let (live, rebuilt) = try await Self.liveAndRebuilt([batches[0], batches[1], batches[3], batches[2]])
        #expect(live.backlogRecords == 5)
        #expect(rebuilt.backlogRecords == 5)
    }

    @Test func aBoardThatDoesNotSendTheBacklogShowsItUnknown() async throws {
        // The newest batch has no backlog header: unknown, not the older batch's number.
        let (live, rebuilt) = try await Self.liveAndRebuilt(try Self.batches(2, backlogs: [7, nil]))
        #expect(live.backlogRecords == nil)
        #expect(rebuilt.backlogRecords == nil)
        let (withIt, rebuiltWithIt) = try await Self.liveAndRebuilt(try Self.batches(2, backlogs: [7, 0]))
        #expect(withIt.backlogRecords == 0)
        #expect(rebuiltWithIt.backlogRecords == 0)
    }
}
