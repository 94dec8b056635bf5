import Foundation
import Ingest
import Logging
import Testing

@testable import Uplink

/// `ExportFilter.receivedSince`: the store reads only the batches that arrived in a period
/// (docs/energy-report.md), on both engines.
@Suite("received-since filter")
struct ReceivedSinceTests {
    @Test("only batches received at or after the bound are read, per device and for all", arguments: StoreKind.allCases)
    func receivedSince(store kind: StoreKind) async throws {
        var a = try TestBoard(device: "pole-a", seedByte: 1)
        var b = try TestBoard(device: "pole-b", seedByte: 2)
        let day = 86_400.0
        let base = 1_759_341_600.0
        try await ExportTests.withStore(kind, [a, b]) { store, receiver in
            for d in 0..<3 {
                let time = Date(timeIntervalSince1970: base + Double(d) * day)
                _ = try await receiver.receive(ExportTests.cose(try a.next(count: 2)), at: time)
                _ = try await receiver.receive(ExportTests.cose(try b.next(count: 2)), at: time)
            }
            func sequences(_ filter: ExportFilter) async throws -> [String] {
                var found: [String] = []
                try await store.forEachBatch(filter) { found.append("\($0.device)#\($0.sequence)") }
                return found
            }
            #expect(try await sequences(ExportFilter(receivedSince: base + day)) == ["pole-a#2", "pole-a#3", "pole-b#2", "pole-b#3"])
            // Inclusive, to the millisecond.
            #expect(try await sequences(ExportFilter(device: "pole-b", receivedSince: base + 2 * day)) == ["pole-b#3"])
            #expect(try await sequences(ExportFilter(device: "pole-a", receivedSince: base + 2 * day + 0.001)).isEmpty)
            // With the sequence bounds too.
            #expect(try await sequences(ExportFilter(device: "pole-a", fromSequence: 1, toSequence: 2, receivedSince: base)) == ["pole-a#1", "pole-a#2"])
            // Hostile bounds neither trap nor lose anything: NaN and −∞ are "since ever", +∞ nothing.
            #expect(try await sequences(ExportFilter(receivedSince: .nan)).count == 6)
            #expect(try await sequences(ExportFilter(receivedSince: -.infinity)).count == 6)
            #expect(try await sequences(ExportFilter(receivedSince: .infinity)).isEmpty)
        }
    }

    @Test("the bound for a period keeps a record taken just after `from` by a clock ahead of the receiver's")
    func slack() {
        let filter = ExportFilter.records(device: "pole-a", since: 1_000_000, until: 1_086_400)
        #expect(filter.receivedSince == 1_000_000 - ExportFilter.clockSlackSeconds)
        #expect(filter.since == 1_000_000 && filter.until == 1_086_400 && filter.device == "pole-a")
    }
}
