import ArgumentParser
import FleetView
import Foundation
import Ingest
import LiveView
import Logging
import Uplink

/// `serve`'s live-view options (docs/live-view.md).
struct LiveViewOptions: ParsableArguments {
    @Flag(name: .long, help: "Serve the live view (map, list, pole pages, energy) on the same port: needs --poles and --accounts.")
    var liveView = false

    @Option(name: .long, help: "The pole inventory, CSV `device,label,latitude,longitude,rated_power_w`.")
    var poles: String?

    @Option(name: .long, help: "The accounts file (`lamp-ingest user add`).")
    var accounts: String?

    @Option(name: .long, help: "A tile server URL template such as https://tiles.example/{z}/{x}/{y}.png (default: a blank map).")
    var tileURL: String?

    @Option(name: .long, help: "A pole with no batch for this long is offline (1m to 7d).")
    var offlineAfter = "15m"

    @Option(name: .long, help: "The session secret (32 random bytes, made when absent; give every replica the same file). Default: ACCOUNTS.session-secret.")
    var sessionSecret: String?

    @Option(name: .long, help: "The append-only audit log of changes made through the page. Default: ACCOUNTS.audit.log.")
    var auditLog: String?

    @Option(name: .long, help: "Where Leaflet and the marker-cluster plugin are (Debian's libjs-leaflet, libjs-leaflet.markercluster).")
    var leafletDirectory = "/usr/share/javascript/leaflet"

    @Option(name: .long, help: "A directory with the city's role keys operator.key and/or scheduler.key (Ed25519 PKCS#8 PEM, mode 0600): the live view publishes with them (needs --desired-state). Absent: publishing is off.")
    var cityKeys: String?

    func validate() throws {
        if cityKeys != nil, !liveView { throw ValidationError("--city-keys goes with --live-view") }
        guard liveView else { return }
        guard poles != nil, accounts != nil else { throw ValidationError("--live-view needs --poles FILE and --accounts FILE") }
        do {
            _ = try LiveViewSetup.offlineAfter(offlineAfter)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The publisher of --city-keys over the published-state store; nil (publishing off) without --city-keys.
    /// The keys are read here, checked like `publish --key`; only their ids are logged.
    func publisher(_ published: (any PublishedStateStore)?, logger: Logger) throws -> CityPublisher? {
        guard let cityKeys else { return nil }
        guard let published else {
            throw IngestError(.invalidArgument, "--city-keys needs --desired-state (the published-state store the boards pull from)")
        }
        let keys = try CityPublisher.keys(directory: cityKeys)
        for (role, key) in keys.sorted(by: { $0.key < $1.key }) {
            logger.info("live view: city key", metadata: ["role": "\(role)", "kid": "\(key.publicKey.kidHex)"])
        }
        return CityPublisher(keys: keys, store: published)
    }

    /// The live view, its FleetState fed by `receiver` and rebuilt from the store; nil without --live-view.
    /// On PostgreSQL it is fed by every replica's batches instead: `following` is the task doing that
    /// (cancel it when the server stops).
    func start(
        receiver: inout BatchReceiver, published: (any PublishedStateStore)?, following: inout Task<Void, Never>?, logger: Logger
    ) async throws -> LiveView? {
        guard liveView, let poles, let accounts else { return nil }
        do {
            let inventory = try LiveViewSetup.inventory(path: poles)
            let offline = try LiveViewSetup.offlineAfter(offlineAfter)
            let fleet = FleetState(inventory: inventory, offlineAfter: offline)
            let started = ContinuousClock.now
            let window = max(24 * 3600, offline * 4)
            try await fleet.rebuild(from: receiver.store, window: window)
            let apply: BatchReceiver.OnStored = { device, batch, acceptance, receivedAt in
                await fleet.apply(device: device, batch: batch, acceptance: acceptance, receivedAt: receivedAt)
            }
            let configuration = LiveView.Configuration(
                accounts: AccountsFile(path: accounts),
                sessionSecret: try SessionSigner.secret(path: sessionSecret ?? accounts + ".session-secret"),
                auditLog: try AuditLog(path: auditLog ?? accounts + ".audit.log"),
                tileURL: tileURL, leafletDirectory: leafletDirectory, publisher: try publisher(published, logger: logger))
            let view = try LiveView(fleet: fleet, store: receiver.store, published: published, configuration: configuration, logger: logger)
            if let shared = receiver.store as? PostgresBatchStore {
                let auditLog = configuration.auditLog
                // Several replicas: every one's batches (this one's too) come by LISTEN/NOTIFY;
                // each (re)connection rebuilds what the page may have missed meanwhile.
                following = Task { await shared.followStoredBatches(onListening: {
                    try await fleet.rebuild(from: shared, window: window)
                    await Acknowledgements.restore(into: fleet, from: auditLog, logger: logger)
                }, onBatch: apply) }
            } else {
                receiver.onStored = apply
            }
            let restored = await Acknowledgements.restore(into: fleet, from: configuration.auditLog, logger: logger)
            if try configuration.accounts.load().isEmpty {
                logger.warning("live view: no accounts in \(accounts): add one with `lamp-ingest user add NAME --role operator --accounts \(accounts)`")
            }
            logger.info("live view ready", metadata: ["poles": "\(inventory.poles.count)", "rebuilt in": "\(ContinuousClock.now - started)",
                                                     "acknowledgements restored": "\(restored)",
                                                     "publishing": "\(configuration.publisher.map { $0.roles.sorted().joined(separator: ",") } ?? "off")"])
            return view
        } catch let error as LiveViewError {
            printError("lamp-ingest: \(error.description)")
            throw IngestExit.usage
        } catch {
            throw fail(error)
        }
    }
}
