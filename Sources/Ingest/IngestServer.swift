import Foundation
import Hummingbird
import Logging
import Uplink

/// The HTTP face of lamp-ingest (docs/uplink.md §6): `POST <batch path>` takes one batch and
/// answers with the JSON acknowledgement or a JSON error; `GET /healthz` answers `{"status":"ok"}`;
/// `GET /metrics` serves `IngestMetrics` in the Prometheus text format.
///
/// Plain HTTP only: run it behind a TLS-terminating proxy (docs/lamp-ingest.md).
public enum IngestServer {
    /// The batch path lampd's documentation uses.
    public static let defaultBatchPath = "/v1/batches"

    /// Builds the application; `onListening` gets the bound host and port (the real one for port 0).
    public static func application(
        receiver: BatchReceiver,
        host: String,
        port: Int,
        batchPath: String = defaultBatchPath,
        desiredState: (any PublishedStateStore)? = nil,
        maxPullWait: Duration = DesiredStatePullRoute.defaultMaxWait,
        logger: Logger,
        onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in },
        routes: (Router<BasicRequestContext>) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        let metrics = IngestMetrics(store: receiver.store)
        // Every answer is JSON (§6), a wrong path or method too.
        router.add(
            middleware: NotFoundAsJSON(
                error: IngestError(.notFound, "batches go to POST \(batchPath), health checks to GET /healthz, metrics to GET /metrics")))
        router.post(RouterPath(batchPath)) { request, _ -> Response in
            await handleBatch(request, receiver: receiver, metrics: metrics, logger: logger)
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: IngestMetrics.contentType],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        if let desiredState {
            DesiredStatePullRoute(keys: receiver.keys, store: desiredState, maxWait: maxPullWait, logger: logger).register(on: router)
        }
        router.get("/healthz") { _, _ -> Response in
            json(200, Data(#"{"status":"ok"}"#.utf8))
        }
        // More routes (the live view, docs/live-view.md).
        routes(router)
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "lamp-ingest"),
            onServerRunning: { channel in
                await onListening(host, channel.localAddress?.port ?? port)
            },
            logger: logger
        )
    }

    static func handleBatch(_ request: Request, receiver: BatchReceiver, metrics: IngestMetrics, logger: Logger) async -> Response {
        let started = ContinuousClock.now
        let contentType = request.headers[.contentType]
        do throws(IngestError) {
            // Refuse what cannot be a batch before reading the body.
            try BatchReceiver.checkContentType(contentType)
            if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > receiver.maxBodyBytes {
                throw IngestError(.bodyTooLarge, "Content-Length \(declared) is over this receiver's limit of \(receiver.maxBodyBytes) bytes")
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: receiver.maxBodyBytes)
            } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                throw IngestError(.bodyTooLarge, "the body is over this receiver's limit of \(receiver.maxBodyBytes) bytes")
            } catch {
                throw IngestError(.malformedBody, "the request body could not be read: \(error)")
            }
            let incoming = IncomingBatch(
                body: Array(buffer: body), contentType: contentType, contentEncoding: request.headers[.contentEncoding])
            let ack = try await receiver.receive(incoming)
            logger.info(
                "batch \(ack.status.rawValue)",
                metadata: [
                    "device": "\(ack.device)", "kid": "\(ack.kid)", "sequence": "\(ack.sequence)",
                    "gap": "\(ack.gap.map { "expected \($0.expected), received \($0.received)" } ?? "none")",
                ])
            metrics.accepted(ack, after: ContinuousClock.now - started)
            return json(200, encode(ack))
        } catch {
            metrics.refused(error)
            logger.warning(
                "batch refused: \(error.message)",
                metadata: [
                    "error": "\(error.code)",
                    // Informational only (the signed header is what counts), but it names the pole.
                    "device": "\(request.headers.first { $0.name.canonicalName == "x-lampd-device" }?.value ?? "?")",
                ])
            return errorResponse(error)
        }
    }

    /// Turns the router's 404 (no such path, or not for this method) into a JSON error body.
    struct NotFoundAsJSON<Context: RequestContext>: RouterMiddleware {
        let error: IngestError

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
            -> Response
        {
            do {
                return try await next(request, context)
            } catch let thrown as any HTTPResponseError where thrown.status == .notFound {
                return errorResponse(error)
            }
        }
    }

    /// The JSON error response (`BatchRefusal`: `{"error": code, "message": text}`) with the code's status.
    static func errorResponse(_ error: IngestError) -> Response {
        var response = json(error.httpStatus, encode(BatchRefusal(error: error.code, message: error.message)))
        if error.reason == .busy { response.headers[.retryAfter] = "5" }
        return response
    }

    static func json(_ status: Int, _ body: Data) -> Response {
        Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain structs cannot fail.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }
}
