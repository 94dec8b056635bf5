import ArgumentParser
import Foundation
import Hummingbird
import FleetView
import Ingest
import LiveView
import Logging

/// `lamp-ingest serve`: the HTTP receiver.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Receive batches over HTTP (plain HTTP: put a TLS proxy in front).",
        discussion: """
            Prints `listening on HOST:PORT` once ready (with --port 0, the port the system chose). \
            Logs go to stdout. The enrolled-keys file is re-read when it changes. A PostgreSQL \
            store must have been prepared with `lamp-ingest migrate`; any number of replicas may \
            serve one PostgreSQL database.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: "The enrolled-keys file (lines `<device-id> <base64 public key>`).")
    var keys: String

    @Option(name: .long, help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "TCP port to listen on (0: any free port).")
    var port = 8443

    @Option(name: .long, help: "Largest accepted body, before and after inflating, in bytes.")
    var maxBodyBytes = BatchReceiver.defaultMaxBodyBytes

    @Option(name: .long, help: "The path batches are POSTed to.")
    var path = IngestServer.defaultBatchPath

    @Option(name: .long, help: "The published desired-state store, a SQLite file or a postgres:// URL shared by replicas (lamp-ingest publish --desired-state): serves GET /v1/desired-state/{device} from it.")
    var desiredState: String?

    @Option(name: .long, help: "Longest a board's long poll of the desired state is held, in seconds (0: never hold; boards ask with [downlink] long_poll; a proxy in front must allow it).")
    var maxPullWait = Int(DesiredStatePullRoute.defaultMaxWait.components.seconds)

    @OptionGroup var liveView: LiveViewOptions

    func validate() throws {
        guard (0...3600).contains(maxPullWait) else { throw ValidationError("--max-pull-wait must be 0–3600 seconds") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535") }
        guard (1024...(1 << 30)).contains(maxBodyBytes) else { throw ValidationError("--max-body-bytes must be 1024 to 1073741824 (1 GiB)") }
        guard path.hasPrefix("/") else { throw ValidationError("--path must start with /") }
    }

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardOutput)
        let logger = Logger(label: "lamp-ingest")
        let receiver: BatchReceiver
        let published: (any PublishedStateStore)?
        do {
            published = if let desiredState { try await StoreLocation(desiredState).openPublishedStateStore(logger: logger) } else { nil }
            let registry = try KeyRegistry(path: keys, logger: logger)
            let store = try await database.open(mustExist: false, logger: logger)
            receiver = BatchReceiver(keys: registry, store: store, maxBodyBytes: maxBodyBytes)
            logger.info("ready", metadata: ["store": "\(store.location)", "keys": "\(keys)", "enrolled": "\(registry.keys.count)"])
        } catch {
            throw fail(error)
        }
        var receiving = receiver
        var following: Task<Void, Never>?
        let view = try await liveView.start(receiver: &receiving, published: published, following: &following, logger: logger)
        defer { following?.cancel() }
        let app = IngestServer.application(
            receiver: receiving, host: host, port: port, batchPath: path, desiredState: published,
            maxPullWait: .seconds(maxPullWait), logger: logger,
            onListening: { host, port in printLine("listening on \(host):\(port)") },
            routes: { router in view?.register(on: router) })
        do {
            try await app.runService()
        } catch {
            throw fail(IngestError(.storeFailed, "the server stopped: \(error) — is \(host):\(port) free and valid?"))
        }
    }
}
