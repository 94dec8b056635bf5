import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Uplink

/// `GET /v1/desired-state/{device}?scheduler=V1&operator=V2[&wait=S]` (docs/downlink.md, "The
/// pull"): serves each role's newest published document whose version is above the one the board
/// says it applied, and notes it as fetched. With `wait` (a long poll) and nothing newer, it holds
/// the request up to S seconds (at most `maxWait`) and answers as soon as a document is published;
/// a server shutting down answers its held pulls "nothing new" at once.
///
/// The GET is not signed: who may ask for a board's schedule is decided by the TLS proxy in front
/// (mutual TLS, the board's client certificate), as for batches. The documents are signed by the
/// city and verified by the board, so a forged answer cannot change a lamp; what the proxy guards is
/// who may learn the schedules and overrides.
public struct DesiredStatePullRoute: Sendable {
    public let keys: KeyRegistry
    public let store: any PublishedStateStore
    public let logger: Logger
    /// The longest a pull is held, whatever the board asks (`serve --max-pull-wait`).
    public let maxWait: Duration
    let watch: PublicationWatch

    /// The default `maxWait`: 15 min, under common proxy and NAT idle timeouts once raised to it
    /// (deploy/nginx/lamp-ingest.conf holds the pull path 16 min).
    public static let defaultMaxWait = Duration.seconds(900)

    public init(keys: KeyRegistry, store: any PublishedStateStore, maxWait: Duration = defaultMaxWait,
                watchInterval: Duration = PublicationWatch.defaultInterval, logger: Logger) {
        self.keys = keys
        self.store = store
        self.logger = logger
        self.maxWait = maxWait
        self.watch = PublicationWatch(store: store, interval: watchInterval, logger: logger)
    }

    /// Adds the route to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get(RouterPath(DesiredStatePull.pathPrefix + ":device")) { request, context -> Response in
            let device = context.parameters.get("device") ?? ""
            do throws(IngestError) {
                let query = try Self.query(request.uri.query ?? "")
                var documents = try await answer(device: device, applied: query.applied, at: Date())
                if documents.isEmpty, query.waitSeconds > 0, maxWait > .zero {
                    let deadline = ContinuousClock.now + min(.seconds(query.waitSeconds), maxWait)
                    while documents.isEmpty {
                        let left = deadline - ContinuousClock.now
                        guard left > .zero else { break }
                        let watch = self.watch
                        let published = await cancelWhenGracefulShutdown { await watch.waitForPublication(upTo: left) }
                        guard published else { break }
                        documents = try await answer(device: device, applied: query.applied, at: Date())
                    }
                }
                guard !documents.isEmpty else { return Response(status: .noContent) }
                let body = DesiredStatePull.answer(documents: documents)
                return Response(status: .ok, headers: [.contentType: DesiredStatePull.contentType],
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
            } catch {
                logger.warning("desired-state pull refused: \(error.message)", metadata: ["device": "\(device.prefix(64))"])
                return IngestServer.errorResponse(error)
            }
        }
    }

    /// The documents to serve to `device` for `query`, newest per role above the applied version
    /// (at once: a `wait` in the query is not held here).
    public func answer(device: String, query: String, at time: Date) async throws(IngestError) -> [[UInt8]] {
        try await answer(device: device, applied: try Self.query(query).applied, at: time)
    }

    static func query(_ text: String) throws(IngestError) -> DesiredStatePull.Query {
        do { return try DesiredStatePull.request(query: text) } catch {
            throw IngestError(.invalidArgument, error.message)
        }
    }

    func answer(device: String, applied: [String: UInt64], at time: Date) async throws(IngestError) -> [[UInt8]] {
        guard let id = DeviceID(rawValue: device) else {
            throw IngestError(.invalidArgument, "\(device.prefix(64)) is not a device id")
        }
        guard keys.keys.keysByDevice[id.rawValue] != nil else {
            throw IngestError(.unknownDevice, "\(id) is not enrolled: lamp-ingest enroll it first")
        }
        var documents: [[UInt8]] = []
        for role in DesiredStatePull.roles {
            guard let newest = try await store.newest(device: id.rawValue, role: role), newest.version > applied[role] ?? 0 else { continue }
            try await store.markFetched(device: id.rawValue, role: role, version: newest.version, at: time)
            documents.append(newest.document)
        }
        return documents
    }
}
