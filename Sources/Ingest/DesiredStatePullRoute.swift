import Foundation
import Hummingbird
import Logging
import Uplink

/// `GET /v1/desired-state/{device}?scheduler=V1&operator=V2` (docs/downlink.md, "The pull"):
/// serves each role's newest published document whose version is above the one the board says it
/// applied, and notes it as fetched.
///
/// The GET is not signed: who may ask for a board's schedule is decided by the TLS proxy in front
/// (mutual TLS, the board's client certificate), as for batches. The documents are signed by the
/// city and verified by the board, so a forged answer cannot change a lamp; what the proxy guards is
/// who may learn the schedules and overrides.
public struct DesiredStatePullRoute: Sendable {
    public let keys: KeyRegistry
    public let store: any PublishedStateStore
    public let logger: Logger

    public init(keys: KeyRegistry, store: any PublishedStateStore, logger: Logger) {
        self.keys = keys
        self.store = store
        self.logger = logger
    }

    /// Adds the route to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get(RouterPath(DesiredStatePull.pathPrefix + ":device")) { request, context -> Response in
            let device = context.parameters.get("device") ?? ""
            do throws(IngestError) {
                let documents = try answer(device: device, query: request.uri.query ?? "", at: Date())
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

    /// The documents to serve to `device` for `query`, newest per role above the applied version.
    public func answer(device: String, query: String, at time: Date) throws(IngestError) -> [[UInt8]] {
        guard let id = DeviceID(rawValue: device) else {
            throw IngestError(.invalidArgument, "\(device.prefix(64)) is not a device id")
        }
        guard keys.keys.keysByDevice[id.rawValue] != nil else {
            throw IngestError(.unknownDevice, "\(id) is not enrolled: lamp-ingest enroll it first")
        }
        let applied: [String: UInt64]
        do { applied = try DesiredStatePull.appliedVersions(query: query) } catch {
            throw IngestError(.invalidArgument, error.message)
        }
        var documents: [[UInt8]] = []
        for role in DesiredStatePull.roles {
            guard let newest = try store.newest(device: id.rawValue, role: role), newest.version > applied[role] ?? 0 else { continue }
            try store.markFetched(device: id.rawValue, role: role, version: newest.version, at: time)
            documents.append(newest.document)
        }
        return documents
    }
}
