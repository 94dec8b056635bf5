import Foundation
import Ingest
import Logging
import PostgresNIO
import Testing
import TestSupport

@testable import Uplink

/// Several lamp-ingest replicas (each its own `PostgresBatchStore`, its own pool) on one
/// PostgreSQL database, and the database's faults: every batch stored exactly once — counted.
@Suite("lamp-ingest replicas on PostgreSQL")
struct ReplicaTests {
    /// `count` replicas (receivers with their own store) on one fresh database, all enrolling `boards`.
    static func withReplicas(
        _ count: Int, enrolling boards: [TestBoard], cluster: PostgresLocation? = nil,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: ([BatchReceiver]) async throws -> Void
    ) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keysPath = try enrolledKeysFile(boards, in: directory)
        try await TestPostgres.withDatabase(in: cluster, sourceLocation: sourceLocation) { location in
            let keys = try KeyRegistry(path: keysPath, logger: TestPostgres.logger)
            let stores = (0..<count).map { _ in PostgresBatchStore(location: location, poolSize: 4, logger: TestPostgres.logger) }
            do {
                try await body(stores.map { BatchReceiver(keys: keys, store: $0) })
            } catch {
                for store in stores { await store.close() }
                throw error
            }
            for store in stores { await store.close() }
        }
    }

    static func incoming(_ batch: SignedBatch) -> IncomingBatch {
        IncomingBatch(body: batch.bytes, contentType: "application/cose", contentEncoding: nil)
    }

    /// Sends `batch` to `receiver` until it is acknowledged, as a board does: a refusal that asks
    /// for a retry (503, 500) is retried after a short pause, anything else fails the test.
    static func deliver(_ batch: SignedBatch, to receivers: [BatchReceiver], firstReplica: Int) async throws
        -> BatchAcknowledgement
    {
        var lastError: IngestError?
        for attempt in 0..<2000 {
            // A retry may land on another replica, as behind a round-robin balancer.
            let receiver = receivers[(firstReplica + attempt) % receivers.count]
            do {
                return try await receiver.receive(incoming(batch))
            } catch {
                guard error.httpStatus >= 500 else { throw error }
                lastError = error
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        throw lastError ?? IngestError(.busy, "never acknowledged")
    }

    @Test("the same batch to two replicas at once is stored once: one stored, one duplicate")
    func sameBatchTwice() async throws {
        var board = try TestBoard()
        let batches = try (0..<20).map { _ in try board.next(count: 3) }
        try await Self.withReplicas(2, enrolling: [board]) { replicas in
            for batch in batches {
                async let a = replicas[0].receive(Self.incoming(batch))
                async let b = replicas[1].receive(Self.incoming(batch))
                let statuses = [try await a.status, try await b.status].map(\.rawValue).sorted()
                #expect(statuses == ["duplicate", "stored"])
            }
            let status = try #require(try await replicas[0].store.status().first)
            #expect(status.batches == 20 && status.records == 60 && status.gaps == 0 && status.lastSequence == 20)
        }
    }

    @Test("consecutive batches of one device to two replicas at once: one chain, no false gap")
    func consecutiveBatches() async throws {
        var board = try TestBoard()
        let batches = try (0..<40).map { _ in try board.next(count: 2) }
        try await Self.withReplicas(2, enrolling: [board]) { replicas in
            for pair in stride(from: 0, to: batches.count, by: 2) {
                async let first = replicas[0].receive(Self.incoming(batches[pair]))
                async let second = replicas[1].receive(Self.incoming(batches[pair + 1]))
                let (a, b) = (try await first, try await second)
                #expect(a.status == .stored && b.status == .stored)
                // The only gap allowed is the true one: the later batch committed first, so the
                // earlier was missing at that moment (and then arrived late, without a gap).
                #expect(a.gap == nil, "batch \(pair + 1) got a gap: \(String(describing: a.gap))")
                if let gap = b.gap { #expect(gap.expected == UInt64(pair + 1) && gap.received == UInt64(pair + 2)) }
            }
            let status = try #require(try await replicas[0].store.status().first)
            // The chain's head is the last batch: a lost update would have left it behind.
            #expect(status.batches == 40 && status.records == 80 && status.lastSequence == 40)
            let next = try await replicas[1].receive(Self.incoming(try board.next(count: 2)))
            #expect(next.status == .stored && next.gap == nil)
        }
    }

    /// On its own cluster: restarting the shared one would fail the other suites' transactions.
    @Test("PostgreSQL restarted while boards send: every reading stored exactly once after the retries")
    func restartMidStream() async throws {
        try await TestPostgres.withOwnCluster { cluster, restart in
            try await Self.restartMidStream(cluster: cluster, restart: restart)
        }
    }

    static func restartMidStream(cluster: PostgresLocation, restart: @escaping @Sendable () async throws -> Void) async throws {
        var boards = try (0..<4).map { try TestBoard(device: "pole-\($0)", seedByte: UInt8(10 + $0)) }
        let perBoard = 30
        let batches = try boards.indices.map { i in try (0..<perBoard).map { _ in try boards[i].next(count: 5) } }
        try await Self.withReplicas(2, enrolling: boards, cluster: cluster) { replicas in
            let (progress, reached) = AsyncStream.makeStream(of: Void.self)
            let acks = try await withThrowingTaskGroup(of: [BatchAcknowledgement].self) { group in
                for (index, chain) in batches.enumerated() {
                    group.addTask {
                        var acks: [BatchAcknowledgement] = []
                        for (number, batch) in chain.enumerated() {
                            acks.append(try await Self.deliver(batch, to: replicas, firstReplica: index + number))
                            if number == perBoard / 3 { reached.yield() }
                        }
                        return acks
                    }
                }
                // Restart once every board is a third of the way through.
                group.addTask {
                    var iterator = progress.makeAsyncIterator()
                    for _ in batches.indices { _ = await iterator.next() }
                    try await restart()
                    return []
                }
                var all: [BatchAcknowledgement] = []
                for try await acks in group { all += acks }
                return all
            }
            #expect(acks.count == batches.count * perBoard)
            #expect(acks.allSatisfy { $0.gap == nil })
            let status = try await replicas[0].store.status()
            #expect(status.count == boards.count)
            for device in status {
                #expect(device.batches == perBoard && device.records == perBoard * 5 && device.gaps == 0, "\(device)")
                #expect(device.lastSequence == UInt64(perBoard))
            }
            var text = ""
            let exported = try await SenMLExporter(store: replicas[1].store).export(ExportFilter()) { text += $0 }
            #expect(exported == boards.count * perBoard * 5)
        }
    }

    @Test("a database that refuses connections is 503 busy with Retry-After")
    func refused() async throws {
        guard let cluster = try TestPostgres.cluster() else { return }
        // A port nobody listens on: bound, read and closed again.
        let port = try Self.unusedPort()
        var nowhere = cluster
        nowhere.port = port
        var board = try TestBoard()
        let batch = try board.next()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = PostgresBatchStore(location: nowhere, poolSize: 2, operationTimeout: .seconds(1), logger: TestPostgres.logger)
        try await IngestHarness.withServer(enrolling: [board], store: store, directory: directory) { server in
            let reply = try await server.post(batch.bytes)
            #expect(reply.status == 503)
            #expect(reply.json["error"] as? String == "busy")
            #expect(reply.retryAfter == "5")
            #expect((reply.json["message"] as? String)?.contains("retry later") == true)
        }
        await store.close()
    }

    static func unusedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound, "cannot bind a test socket")
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
