import Foundation
import Ingest
import Logging
import Synchronization
import Testing
import TestSupport
import Uplink

/// A published-state store that tells when the long poll's watch looks at it: its second look is
/// proof that a pull is held and the watch is polling.
final class WatchedPublishedStateStore: PublishedStateStore {
    let inner: any PublishedStateStore
    let looks: AsyncStream<Int>
    private let continuation: AsyncStream<Int>.Continuation
    private let count = Mutex(0)

    init(_ inner: any PublishedStateStore) {
        self.inner = inner
        (looks, continuation) = AsyncStream.makeStream(of: Int.self)
    }

    func lastVersion(device: String, role: String) async throws(IngestError) -> UInt64 { try await inner.lastVersion(device: device, role: role) }
    func publish(_ document: PublishedDocument) async throws(IngestError) { try await inner.publish(document) }
    func newest(device: String, role: String) async throws(IngestError) -> PublishedDocument? { try await inner.newest(device: device, role: role) }
    func markFetched(device: String, role: String, version: UInt64, at: Date) async throws(IngestError) {
        try await inner.markFetched(device: device, role: role, version: version, at: at)
    }
    func recordOutcome(device: String, role: String, version: UInt64, outcome: String, at: Date) async throws(IngestError) {
        try await inner.recordOutcome(device: device, role: role, version: version, outcome: outcome, at: at)
    }
    func history(device: String?) async throws(IngestError) -> [PublishedDocument] { try await inner.history(device: device) }
    func publicationStamp() async throws(IngestError) -> Int64 {
        continuation.yield(count.withLock { $0 += 1; return $0 })
        return try await inner.publicationStamp()
    }

    /// Returns once the watch has looked at the store `n` times.
    func waitForLooks(_ n: Int) async {
        for await look in looks where look >= n { return }
    }
}

@Suite("The long poll of the desired state (docs/downlink.md, Long poll)", .serialized)
struct LongPollTests {
    static func stores() throws -> (URL, SQLitePublishedStateStore, SQLitePublishedStateStore) {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("published.sqlite").path
        // Two handles on one file: the server's, and `lamp-ingest publish`'s in another process.
        return (directory, try SQLitePublishedStateStore(path: path), try SQLitePublishedStateStore(path: path))
    }

    @Test("a held wait wakes when another handle on the store publishes, and only then", arguments: StoreKind.allCases)
    func watchWakesOnAPublishFromElsewhere(kind: StoreKind) async throws {
        try await PublishedStateStores.with(kind) { open, _ in
            let watched = WatchedPublishedStateStore(try await open())
            let publisher = try await open()
            let watch = PublicationWatch(store: watched, interval: .milliseconds(20), logger: Logger(label: "test"))
            let woken = Task { await watch.waitForPublication(upTo: .seconds(600)) }
            await watched.waitForLooks(3)   // held, and the store looked at twice since with nothing new
            #expect(await watch.heldCount == 1)
            try await publisher.publish(DesiredStatePullTests.document("pole-1", "scheduler", 1, 1))
            #expect(await woken.value == true)
            #expect(await watch.heldCount == 0)
        }
    }

    @Test("a wait ends false when its time is up or its task is cancelled (a server shutting down)")
    func timeoutAndCancellation() async throws {
        let (directory, server, _) = try Self.stores()
        defer { try? FileManager.default.removeItem(at: directory) }
        let watched = WatchedPublishedStateStore(server)
        let watch = PublicationWatch(store: watched, interval: .milliseconds(20), logger: Logger(label: "test"))
        #expect(await watch.waitForPublication(upTo: .milliseconds(50)) == false)
        let held = Task { await watch.waitForPublication(upTo: .seconds(3600)) }
        await watched.waitForLooks(3)
        held.cancel()
        #expect(await held.value == false)
        #expect(await watch.heldCount == 0)
        #expect(await watch.waitForPublication(upTo: .zero) == false)
    }

    @Test("GET …&wait=S holds the pull and answers 200 with the document published meanwhile", arguments: StoreKind.allCases)
    func heldPullAnswersAPublish(kind: StoreKind) async throws {
        let board = try TestBoard()
        let device = board.identity.deviceID
        try await PublishedStateStores.with(kind) { open, _ in
            let server = try await open()
            let publisher = try await open()
            let watched = WatchedPublishedStateStore(server)
            try await IngestHarness.withServer(.sqlite, enrolling: [board], desiredState: watched) { ingest in
                let pull = Task { try await DesiredStatePullTests.pull(ingest, DesiredStatePull.target(device: device, applied: [:], waitSeconds: 600)) }
                await watched.waitForLooks(3)
                try await publisher.publish(DesiredStatePullTests.document(device.rawValue, "operator", 1, 7))
                let answer = try await pull.value
                #expect(answer.status == 200)
                #expect(try DesiredStatePull.documents(answer: answer.body) == [[0xD2, 7, 7]])
                #expect(try await server.history(device: device.rawValue).first?.status == "fetched")
            }
        }
    }

    @Test("a long poll held on replica A is answered when `lamp-ingest publish --desired-state` publishes (replica B's store, or PostgreSQL's)",
          arguments: StoreKind.allCases)
    func heldPullAnswersThePublishCommand(kind: StoreKind) async throws {
        let board = try TestBoard()
        let device = board.identity.deviceID
        try await PublishedStateStores.with(kind) { open, commandLine in
            let watched = WatchedPublishedStateStore(try await open())
            try await IngestHarness.withServer(.sqlite, enrolling: [board], desiredState: watched) { replicaA in
                let pull = Task { try await DesiredStatePullTests.pull(replicaA, DesiredStatePull.target(device: device, applied: [:], waitSeconds: 600)) }
                await watched.waitForLooks(3)
                let until = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
                let published = try await ChildProcess.run(product: "lamp-ingest", [
                    "publish", "--key", try CityKeyFile.write(seed: [UInt8](repeating: 7, count: 32)), "--device", device.rawValue,
                    "--desired-state", commandLine, "--override", "40", "--until", until,
                ])
                #expect(published.exitCode == 0, "\(published.stderr)")
                if kind == .postgres, let password = try PostgresLocation(url: commandLine).password {
                    #expect(!published.stdout.contains(password), "the password is never printed")
                }
                let answer = try await pull.value
                #expect(answer.status == 200)
                #expect(try DesiredStatePull.documents(answer: answer.body).count == 1)
                #expect(try await watched.history(device: device.rawValue).map(\.status) == ["fetched"])
            }
        }
    }

    @Test("a long poll with nothing published answers 204 when its wait is up")
    func heldPullTimesOut() async throws {
        try await DesiredStatePullTests.withPublished { server, _, device in
            let answer = try await DesiredStatePullTests.pull(server, DesiredStatePull.target(device: DeviceID(device), applied: [:], waitSeconds: 1))
            #expect(answer.status == 204)
        }
    }

    @Test("the query's wait: at most once, 0…3600 seconds, digits only", arguments: [
        ("scheduler=1&wait=600", 600), ("wait=0", 0), ("operator=2", 0), ("wait=3600&scheduler=0", 3600),
    ])
    func waitParses(query: String, seconds: Int) throws {
        #expect(try DesiredStatePull.request(query: query).waitSeconds == seconds)
    }

    @Test("a bad wait is refused with its reason", arguments: ["wait=x", "wait=3601", "wait=1&wait=2", "wait=", "wait=-1", "wait=99999999999"])
    func badWait(query: String) {
        #expect(throws: PullRequestError.self) { try DesiredStatePull.request(query: query) }
    }

    @Test("the board's target asks for the wait only when it long-polls, capped at an hour")
    func target() throws {
        let device = try DeviceID("pole-1")
        #expect(DesiredStatePull.target(device: device, applied: [:]) == "/v1/desired-state/pole-1?scheduler=0&operator=0")
        #expect(DesiredStatePull.target(device: device, applied: [:], waitSeconds: 900).hasSuffix("&wait=900"))
        #expect(DesiredStatePull.target(device: device, applied: [:], waitSeconds: 99_999).hasSuffix("&wait=3600"))
    }
}
