import Foundation
import Ingest
import Testing
import TestSupport

@testable import Uplink

/// The live view across replicas: each batch a replica stores is announced (NOTIFY at commit) and
/// every replica following the database loads it (docs/live-view.md, "Several replicas").
@Suite("lamp-ingest replicas announce their batches")
struct ReplicaFeedTests {
    /// What a follower saw: each (re)established LISTEN, and each announced batch.
    enum Seen: Sendable, Equatable {
        case listening
        case batch(device: String, sequence: UInt64, gap: Bool)
    }

    /// Follows `store` in a task of its own; what it sees goes to the returned stream.
    static func follow(_ store: PostgresBatchStore) -> (AsyncStream<Seen>, Task<Void, Never>) {
        let (stream, continuation) = AsyncStream<Seen>.makeStream()
        let task = Task {
            await store.followStoredBatches(
                retryAfter: .milliseconds(200), onListening: { continuation.yield(.listening) },
                onBatch: { device, batch, acceptance, _ in
                    guard case .store(let gap, _) = acceptance else { return }
                    continuation.yield(.batch(device: device, sequence: batch.sequence, gap: gap != nil))
                })
            continuation.finish()
        }
        return (stream, task)
    }

    @Test("the notice is `device kid sequence`, read from the right; anything else is no notice")
    func noticePayload() {
        let notice = StoredBatchNotice(device: "pole 17", kid: "0a1b", sequence: 42)
        #expect(StoredBatchNotice(payload: notice.payload) == notice)
        for bad in ["", "pole", "pole 0a1b", "pole 0a1b x", "pole zz 1", " 0a1b 1", "pole 0a1b 99999999999999999999"] {
            #expect(StoredBatchNotice(payload: bad) == nil, "\(bad)")
        }
    }

    @Test("a batch stored through replica A reaches replica B's follower, once; a duplicate is not announced")
    func batchReachesOtherReplica() async throws {
        var board = try TestBoard()
        let batches = try (0..<3).map { _ in try board.next(count: 2) }
        try await ReplicaTests.withReplicas(2, enrolling: [board]) { replicas in
            let follower = try #require(replicas[1].store as? PostgresBatchStore)
            let (seen, task) = Self.follow(follower)
            defer { task.cancel() }
            var iterator = seen.makeAsyncIterator()
            #expect(await iterator.next() == .listening)
            _ = try await replicas[0].receive(ReplicaTests.incoming(batches[0]))
            _ = try await replicas[0].receive(ReplicaTests.incoming(batches[1]))
            #expect(try await replicas[1].receive(ReplicaTests.incoming(batches[0])).status.rawValue == "duplicate")
            _ = try await replicas[1].receive(ReplicaTests.incoming(batches[2]))
            var got: [Seen] = []
            for _ in 0..<3 { got.append(try #require(await iterator.next())) }
            let device = board.identity.deviceID.rawValue
            #expect(got == (1...3).map { .batch(device: device, sequence: $0, gap: false) })
        }
    }

    @Test("after a PostgreSQL restart the follower listens again (the caller rebuilds) and gets the next batches")
    func followsAcrossRestart() async throws {
        var board = try TestBoard()
        let batches = try (0..<2).map { _ in try board.next(count: 1) }
        try await TestPostgres.withOwnCluster { cluster, restart in
            try await ReplicaTests.withReplicas(1, enrolling: [board], cluster: cluster) { replicas in
                let follower = try #require(replicas[0].store as? PostgresBatchStore)
                let (seen, task) = Self.follow(follower)
                defer { task.cancel() }
                var iterator = seen.makeAsyncIterator()
                #expect(await iterator.next() == .listening)
                _ = try await ReplicaTests.deliver(batches[0], to: replicas, firstReplica: 0)
                #expect(await iterator.next() == .batch(device: board.identity.deviceID.rawValue, sequence: 1, gap: false))
                try await restart()
                #expect(await iterator.next() == .listening)
                _ = try await ReplicaTests.deliver(batches[1], to: replicas, firstReplica: 0)
                #expect(await iterator.next() == .batch(device: board.identity.deviceID.rawValue, sequence: 2, gap: false))
            }
        }
    }
}
