import FleetTestSupport
import Foundation
import FleetView
import Hummingbird
import HummingbirdTesting
import Ingest
import Logging
@testable import LiveView
@testable import Uplink

/// A live view over a SQLite store in a temporary directory, three accounts (alice the operator,
/// bob the viewer, carol the scheduler), the receiver feeding its FleetState, and a published-state
/// store with a `StoringPublisher` unless `publishing` is false.
struct LiveViewHarness {
    static let operatorPassword = "operator-password"
    static let viewerPassword = "viewer-password"
    static let schedulerPassword = "scheduler-password"

    let directory: URL
    let fleet: FleetState
    let view: LiveView
    let receiver: BatchReceiver
    let store: any BatchStore
    let published: SQLitePublishedStateStore

    static func with(
        poles: [Pole] = [Pole(device: "pole-0001", label: "Rue Royale 1", latitudeDegrees: 50.85, longitudeDegrees: 4.36, ratedPowerWatts: 60)],
        boards: [FleetBoard] = [], publishing: Bool = true, directory given: URL? = nil, _ body: (LiveViewHarness) async throws -> Void
    ) async throws {
        let directory = given ?? FileManager.default.temporaryDirectory.appendingPathComponent("live-view-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if given == nil { try? FileManager.default.removeItem(at: directory) } }
        let accounts = AccountsFile(path: directory.appendingPathComponent("accounts").path)
        try accounts.add(name: "alice", role: .operator, password: operatorPassword)
        try accounts.add(name: "bob", role: .viewer, password: viewerPassword)
        try accounts.add(name: "carol", role: .scheduler, password: schedulerPassword)
        let keysPath = directory.appendingPathComponent("enrolled-keys").path
        try Data().write(to: URL(fileURLWithPath: keysPath))
        for board in boards { try EnrolledKeys.enroll(device: board.identity.deviceID, key: board.publicKey, comment: nil, path: keysPath) }
        let logger = Logger(label: "live-view-test")
        let store = try IngestStore(path: directory.appendingPathComponent("ingest.sqlite").path)
        let fleet = FleetState(inventory: PoleInventory(poles: poles))
        let receiver = BatchReceiver(keys: try KeyRegistry(path: keysPath, logger: logger), store: store) { device, batch, acceptance, receivedAt in
            await fleet.apply(device: device, batch: batch, acceptance: acceptance, receivedAt: receivedAt)
        }
        let published = try SQLitePublishedStateStore(path: directory.appendingPathComponent("published.sqlite").path)
        let configuration = LiveView.Configuration(
            accounts: accounts, sessionSecret: [UInt8](repeating: 7, count: 32),
            auditLog: try AuditLog(path: directory.appendingPathComponent("audit.log").path),
            publisher: publishing ? StoringPublisher(store: published) : nil)
        let view = try LiveView(fleet: fleet, store: store, published: publishing ? published : nil, configuration: configuration, logger: logger)
        try await body(LiveViewHarness(directory: directory, fleet: fleet, view: view, receiver: receiver, store: store, published: published))
        await store.close()
    }

    /// The application with lamp-ingest's routes and the live view's.
    func application(onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }) -> some ApplicationProtocol {
        let view = view
        return IngestServer.application(
            receiver: receiver, host: "127.0.0.1", port: 0, logger: Logger(label: "live-view-test"), onListening: onListening,
            routes: { view.register(on: $0) })
    }

    /// A session cookie header for `name`.
    func cookie(_ name: String, role: AccountRole) -> HTTPFields {
        [.cookie: "\(SessionSigner.cookieName)=\(view.sessions.token(name: name, role: role))"]
    }

    /// Stores `batch` through the receiver, as a POST would.
    func store(_ batch: SignedBatch) async throws {
        _ = try await receiver.receive(IncomingBatch(body: batch.bytes, contentType: "application/cose", contentEncoding: nil))
    }
}

/// The live view's tests' publisher: stores each device's next version, as lamp-ingest's
/// CityPublisher does, with the content's summary for the document (unsigned: the live view only
/// hands orders over; the signing is CityPublisher's, covered end to end with lampd in
/// LampctlTests' LiveViewPublishEndToEndTests).
struct StoringPublisher: DesiredStatePublisher {
    let store: SQLitePublishedStateStore
    var roles: Set<String> = ["operator", "scheduler"]

    func publish(_ order: PublishOrder) async -> PublishResult {
        var published: [PublishedVersion] = []
        for device in order.devices {
            do {
                let role = order.content.role
                let version = try store.lastVersion(device: device, role: role) + 1
                let bytes = Array(order.content.summary.utf8)
                try store.publish(PublishedDocument(device: device, role: role, version: version, document: bytes, publishedAt: Date()))
                published.append(PublishedVersion(device: device, role: role, version: version, bytes: bytes.count, keyID: "test"))
            } catch {
                return PublishResult(published: published, error: error)
            }
        }
        return PublishResult(published: published)
    }
}

/// Collects what a response body writes, chunk by chunk, into a stream.
struct StreamingWriter: ResponseBodyWriter {
    let continuation: AsyncStream<String>.Continuation

    mutating func write(_ buffer: ByteBuffer) async throws { continuation.yield(String(buffer: buffer)) }

    mutating func write(contentsOf buffers: some Sequence<ByteBuffer>) async throws {
        for buffer in buffers { continuation.yield(String(buffer: buffer)) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws { continuation.finish() }
}
