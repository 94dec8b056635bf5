import Foundation
import Ingest
import Logging
import Testing
import ServiceLifecycle
import Uplink

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real lamp-ingest server on 127.0.0.1, on a port the system chose, over a temporary
/// database and enrolled-keys file; `post` sends a request the way a board does.
struct IngestHarness {
    let directory: URL
    let keysPath: String
    let store: any BatchStore
    let port: Int

    struct Reply {
        var status: Int
        var json: [String: Any]
        var contentType: String?
        var retryAfter: String?
        /// The body as text (for answers that are not JSON, as /metrics).
        var text: String = ""
    }

    /// Runs `body` against a started server over a fresh store of `kind`, then stops it and
    /// removes the files; without PostgreSQL, a `.postgres` run does not call `body`.
    static func withServer(
        _ kind: StoreKind, enrolling boards: [TestBoard], maxBodyBytes: Int = BatchReceiver.defaultMaxBodyBytes,
        desiredState: (any PublishedStateStore)? = nil,
        sourceLocation: SourceLocation = #_sourceLocation, _ body: (IngestHarness) async throws -> Void
    ) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await TestStores.with(kind, in: directory, sourceLocation: sourceLocation) { store in
            try await withServer(enrolling: boards, store: store, directory: directory, maxBodyBytes: maxBodyBytes,
                                 desiredState: desiredState, body)
        }
    }

    /// Runs `body` against a started server over `store`, with keys in `directory`.
    static func withServer(
        enrolling boards: [TestBoard], store: any BatchStore, directory: URL,
        maxBodyBytes: Int = BatchReceiver.defaultMaxBodyBytes, desiredState: (any PublishedStateStore)? = nil,
        _ body: (IngestHarness) async throws -> Void
    ) async throws {
        let keysPath = try enrolledKeysFile(boards, in: directory)
        let logger = Logger(label: "ingest-test")
        let receiver = BatchReceiver(keys: try KeyRegistry(path: keysPath, logger: logger), store: store, maxBodyBytes: maxBodyBytes)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = IngestServer.application(
            receiver: receiver, host: "127.0.0.1", port: 0, desiredState: desiredState, logger: logger) { _, port in
            continuation.yield(port)
        }
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            let harness = IngestHarness(directory: directory, keysPath: keysPath, store: store, port: port)
            do {
                try await body(harness)
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
            await services.triggerGracefulShutdown()
        }
    }

    /// POSTs `body` to `path` with the given headers.
    func post(
        _ body: [UInt8], contentType: String? = "application/cose; cose-type=\"cose-sign1\"", encoding: String? = nil,
        path: String = "/v1/batches"
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let encoding { request.setValue(encoding, forHTTPHeaderField: "Content-Encoding") }
        return try await send(request)
    }

    func get(_ path: String) async throws -> Reply {
        try await send(URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!))
    }

    private func send(_ request: URLRequest) async throws -> Reply {
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return Reply(
            status: http?.statusCode ?? 0, json: json, contentType: http?.value(forHTTPHeaderField: "Content-Type"),
            retryAfter: http?.value(forHTTPHeaderField: "Retry-After"), text: String(decoding: data, as: UTF8.self))
    }

    /// Rows in the batch table.
    func storedBatches() async throws -> Int {
        try await store.status().reduce(0) { $0 + $1.batches }
    }
}
