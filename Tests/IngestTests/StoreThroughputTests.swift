import Foundation
import Ingest
import Logging
import Testing

@testable import Uplink

/// Readings per second through `BatchReceiver` (verify, decode, store; no HTTP) for each store,
/// in one run: docs/performance.md. Only with `LAMPD_INGEST_BENCH=1` (it takes a while).
@Suite("lamp-ingest store throughput")
struct StoreThroughputTests {
    static let enabled = ProcessInfo.processInfo.environment["LAMPD_INGEST_BENCH"] == "1"

    @Test(
        "readings/s of SQLite and PostgreSQL (1 and 2 replicas): 64 boards × 40 batches × 10 readings",
        .enabled(if: enabled, "set LAMPD_INGEST_BENCH=1 to measure"))
    func throughput() async throws {
        let boardCount = 64
        let perBoard = 40
        var boards = try (0..<boardCount).map { try TestBoard(device: "pole-\($0)", seedByte: UInt8(1 + $0)) }
        let chains = try boards.indices.map { i in try (0..<perBoard).map { _ in try boards[i].next(count: 10) } }
        let readings = boardCount * perBoard * 10
        for (name, kind, replicas) in [("SQLite", StoreKind.sqlite, 1), ("PostgreSQL, 1 replica", .postgres, 1), ("PostgreSQL, 2 replicas", .postgres, 2)] {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let keys = try KeyRegistry(path: try enrolledKeysFile(boards, in: directory), logger: Logger(label: "bench"))
            try await TestStores.with(kind, in: directory) { first in
                var stores: [any BatchStore] = [first]
                if replicas == 2, let postgres = first as? PostgresBatchStore {
                    stores.append(PostgresBatchStore(location: postgres.database, poolSize: 4, logger: TestPostgres.logger))
                }
                let receivers = stores.map { BatchReceiver(keys: keys, store: $0) }
                let clock = ContinuousClock()
                let start = clock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, chain) in chains.enumerated() {
                        group.addTask {
                            for (number, batch) in chain.enumerated() {
                                let ack = try await receivers[(index + number) % receivers.count].receive(
                                    IncomingBatch(body: batch.bytes, contentType: "application/cose", contentEncoding: nil))
                                #expect(ack.status == .stored)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let seconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
                print("store throughput \(name): \(readings) readings in \(String(format: "%.2f", seconds)) s = \(Int(Double(readings) / seconds)) readings/s, \(Int(Double(boardCount * perBoard) / seconds)) batches/s")
                let stored = try await first.status().reduce(0) { $0 + $1.records }
                #expect(stored == readings)
                for store in stores.dropFirst() { await store.close() }
            }
        }
    }
}
