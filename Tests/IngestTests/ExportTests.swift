import Foundation
import Ingest
import Logging
import Testing

@testable import Telemetry
@testable import Uplink
import Clocks

@Suite("SenML-JSON export")
struct ExportTests {
    /// Stores batches through the receiver (no HTTP) and exports them.
    static func withStore(
        _ kind: StoreKind, _ boards: [TestBoard], _ body: (any BatchStore, BatchReceiver) async throws -> Void
    ) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keysPath = try enrolledKeysFile(boards, in: directory)
        try await TestStores.with(kind, in: directory) { store in
            let receiver = BatchReceiver(keys: try KeyRegistry(path: keysPath, logger: Logger(label: "test")), store: store)
            try await body(store, receiver)
        }
    }

    static func export(_ store: any BatchStore, _ filter: ExportFilter = ExportFilter()) async throws -> [[String: Any]] {
        var text = ""
        try await SenMLExporter(store: store).export(filter) { text += $0 }
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
    }

    static func cose(_ batch: SignedBatch) -> IncomingBatch {
        IncomingBatch(body: batch.bytes, contentType: "application/cose", contentEncoding: nil)
    }

    @Test("stored readings come back as resolved SenML-JSON records, filtered by device and sequence", arguments: StoreKind.allCases)
    func roundTrip(store kind: StoreKind) async throws {
        var a = try TestBoard(device: "pole-a", seedByte: 1)
        var b = try TestBoard(device: "pole-b", seedByte: 2)
        try await Self.withStore(kind, [a, b]) { store, receiver in
            for _ in 0..<3 { _ = try await receiver.receive(Self.cose(try a.next(count: 4))) }
            _ = try await receiver.receive(Self.cose(try b.next(count: 2)))

            let all = try await Self.export(store)
            #expect(all.count == 14)
            let first = all[0]
            #expect(first["n"] as? String == "urn:dev:lampd:pole-a:lamp1/power")
            #expect(first["u"] as? String == "W")
            #expect(first["v"] as? Double == 40)
            #expect(first["t"] as? Double == 1_759_341_600)
            #expect(all[1]["v"] as? Double == 40.5)
            #expect(all[1]["t"] as? Double == 1_759_341_601)

            let onlyB = try await Self.export(store, ExportFilter(device: "pole-b"))
            #expect(onlyB.count == 2)
            #expect(onlyB.allSatisfy { ($0["n"] as? String)?.hasPrefix("urn:dev:lampd:pole-b:") == true })
            #expect(try await Self.export(store, ExportFilter(device: "pole-a", fromSequence: 2, toSequence: 2)).count == 4)
            // Seconds 2 and 3 of pole-a (pole-b has 0 and 1); the bounds are inclusive.
            #expect(try await Self.export(store, ExportFilter(since: 1_759_341_602, until: 1_759_341_603)).count == 2)
            #expect(try await Self.export(store, ExportFilter(device: "nobody")).isEmpty)
        }
    }

    @Test("events keep message and severity; unsynchronised records are placed by their boot's anchor", arguments: StoreKind.allCases)
    func eventsAndClock(store kind: StoreKind) async throws {
        var board = try TestBoard()
        let boot = TestBoard.bootID
        let base = TestBoard.baseUTCNanoseconds
        let records = [
            TestBoard.reading(
                sequence: 1, "cabinet/temperature", 23.5, unit: .celsius, utcNanoseconds: 86_400_000_000_000,
                bootNanoseconds: 42_000_000_000, synchronised: false),
            SpooledRecord(
                sequence: 2,
                record: .event(
                    Event(
                        kind: "door.opened", severity: .alarm, channel: ChannelName(rawValue: "cabinet/door")!,
                        value: .boolean(true),
                        time: Timestamp(utcNanoseconds: base, bootNanoseconds: 3_600_000_000_000, bootID: boot, isClockSynchronised: true),
                        message: "cabinet door \"opened\""))),
            TestBoard.reading(sequence: 3, "lamp1/power", 41.5, utcNanoseconds: base + 250_000_000, bootNanoseconds: 3_600_250_000_000),
        ]
        try await Self.withStore(kind, [board]) { store, receiver in
            _ = try await receiver.receive(Self.cose(try board.next(records)))
            let exported = try await Self.export(store)
            try #require(exported.count == 3)
            // 3600 s after boot is `base`, so 42 s after boot is base − 3558 s.
            #expect(exported[0]["t"] as? Double == Double(base / 1_000_000_000 - 3558))
            #expect(exported[0]["boot_"] == nil)
            #expect(exported[1]["n"] as? String == "urn:dev:lampd:pole-0042:cabinet/door/event/door.opened")
            #expect(exported[1]["vs"] as? String == "cabinet door \"opened\"")
            #expect(exported[1]["sev"] as? Int == 2)
            #expect(exported[1]["val"] as? Bool == true)
            // Sub-second times come out as written, not 1759341600.2499998.
            #expect(exported[2]["t"] as? Double == 1_759_341_600.25)
        }
    }

    @Test("an unsynchronised record of a boot without anchor keeps the must-understand boot_ marker", arguments: StoreKind.allCases)
    func unanchored(store kind: StoreKind) async throws {
        var board = try TestBoard()
        let records = [
            TestBoard.reading(
                sequence: 1, "lamp1/power", 1, utcNanoseconds: 5_000_000_000, bootNanoseconds: 7_000_000_000, synchronised: false)
        ]
        try await Self.withStore(kind, [board]) { store, receiver in
            _ = try await receiver.receive(Self.cose(try board.next(records)))
            let exported = try await Self.export(store)
            let marker = try #require(exported.first?["boot_"] as? [String: Any])
            #expect(marker["ns"] as? Int == 7_000_000_000)
            #expect(try await Self.export(store, ExportFilter(since: 0)).isEmpty)
        }
    }
}
