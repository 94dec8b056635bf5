import ArgumentParser
import Downlink
import Foundation
import Ingest
import Lighting
import Logging
import Uplink

/// `lamp-ingest publish`: signs one desired-state document for one board with a city role key
/// and writes it to a file (docs/downlink.md). The key file is read, never printed or logged.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Sign a desired-state document (schedule or override) for one board with a city role key.",
        discussion: """
            The role key is an Ed25519 private key in a PKCS#8 PEM file readable by its owner \
            only (openssl genpkey -algorithm ed25519 -out scheduler.key); its public half \
            (openssl pkey -in scheduler.key -pubout) is what installers pin on the boards in \
            /etc/lampd/city-keys/<role>/. A scheduler key publishes --schedule and/or \
            --default-level, an operator key --override (or nothing: clears the override). \
            With --desired-state the document goes into lamp-ingest's published-state store, from which \
            `lamp-ingest serve --desired-state` hands it to the board's pull; --version is then chosen \
            as the last one of the board and role + 1 unless given, and --devices FILE (one \
            device id a line, # comments) publishes one document per board. With --out it is \
            written to a file for `lampctl downlink apply FILE` (--version required).
            """
    )

    @Option(name: .long, help: "The city role key (PKCS#8 PEM, mode 0600).")
    var key: String
    @Option(name: .long, help: "The board's device id, e.g. pole-0042.")
    var device: String?
    @Option(name: .long, help: "A file of device ids, one a line: one document for each (with --desired-state).")
    var devices: String?
    @Option(name: .long, help: "The document's version: above every earlier one of its role for this board (with --desired-state: last + 1 by default).")
    var version: UInt64?
    @Option(name: .long, help: "How long the board may still apply it, in hours (default 168 = 7 days).")
    var validHours: Int = 168
    @Option(name: .long, help: "A JSON file with the schedule: {\"calendar\": {...}, \"programs\": [...]} as in docs/downlink.md.")
    var schedule: String?
    @Option(name: .long, help: "The default light state, 0–100 % (the level when there is no calendar).")
    var defaultLevel: Int?

    @Option(name: .long, help: "A JSON file with the remote configuration: {\"batchIntervalSeconds\": 300, \"maxBytesPerDay\": 50000, \"samplingPeriodSeconds\": {\"meter\": 10}} (docs/downlink.md §3; scheduler key).")
    var configuration: String?
    @Option(name: .long, help: "An override level, 0–100 %, with --from and --until.")
    var override: Int?
    @Option(name: .long, help: "The override's start, ISO 8601 UTC (default: now).")
    var from: String?
    @Option(name: .long, help: "The override's end, ISO 8601 UTC.")
    var until: String?
    @Option(name: .long, help: "Why, shown on the board (at most 256 bytes).")
    var reason: String?
    @Option(name: .long, help: "Where to write the signed document.")
    var out: String?
    @Option(name: .long, help: "The published desired-state store that lamp-ingest serve --desired-state serves from: a SQLite file or a postgres:// URL (migrated).")
    var desiredState: String?

    func validate() throws {
        guard (device == nil) != (devices == nil) else { throw ValidationError("give one of --device or --devices") }
        guard (out == nil) != (desiredState == nil) else { throw ValidationError("give one of --out FILE or --desired-state FILE") }
        if devices != nil, desiredState == nil { throw ValidationError("--devices goes with --desired-state") }
        if out != nil, version == nil { throw ValidationError("--out needs --version (only --desired-state keeps track of versions)") }
        guard (1...Int64.max).contains(Int64(clamping: version ?? 1)), validHours >= 1, validHours <= 24 * 366 else {
            throw ValidationError("--version must be 1 … 2^63−1 and --valid-hours 1 … 8784")
        }
        if override == nil, from != nil || until != nil || reason != nil {
            throw ValidationError("--from, --until and --reason go with --override")
        }
        if override != nil, until == nil { throw ValidationError("--override needs --until: a city override always ends") }
    }

    func run() async throws {
        let signingKey = try Self.readKey(key)
        let now = Int64(Date().timeIntervalSince1970)
        let order = PublishOrder(devices: try targets(), content: try content(now: now), validHours: validHours, version: version)
        let role = order.content.role
        guard let store = desiredState else {
            guard let device, let version, let out else { return }
            let bytes: [UInt8]
            do {
                bytes = try CityPublisher.sign(try CityPublisher.template(order, now: now), device: device, version: version, key: signingKey)
            } catch { throw fail(error) }
            guard FileManager.default.createFile(atPath: out, contents: Data(bytes)) else { throw ValidationError("cannot write \(out)") }
            print("published \(device) \(role) version \(version) (\(bytes.count) bytes, key \(signingKey.publicKey.kidHex)) to \(out)")
            return
        }
        let published: any PublishedStateStore
        do { published = try await StoreLocation(store).openPublishedStateStore(logger: Logger(label: "lamp-ingest")) } catch { throw fail(error) }
        let shown = (published as? PostgresPublishedStateStore)?.location ?? store  // never the password
        let result = await CityPublisher(keys: [role: signingKey], store: published).publish(order)
        for document in result.published {
            print("published \(document.device) \(role) version \(document.version) (\(document.bytes) bytes, key \(document.keyID)) to \(shown)")
        }
        await published.close()
        if let error = result.error { throw fail(error) }
    }

    /// The boards to publish to: --device, or each line of --devices.
    func targets() throws -> [String] {
        if let device { return [device] }
        guard let devices, let text = try? String(contentsOfFile: devices, encoding: .utf8) else {
            throw ValidationError("cannot read the device list \(devices ?? "")")
        }
        var ids: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let id = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingCharacters(in: .whitespaces)
            guard !id.isEmpty else { continue }
            guard DeviceID(rawValue: id) != nil else { throw ValidationError("\(devices) line \(number + 1): \(id.prefix(64)) is not a device id") }
            ids.append(id)
        }
        guard !ids.isEmpty else { throw ValidationError("\(devices) names no device") }
        return ids
    }

    /// What the options publish (the role follows from it: docs/downlink.md §9).
    func content(now: Int64) throws -> PublishedContent {
        if let level = override, let until {
            guard schedule == nil, defaultLevel == nil, configuration == nil else {
                throw ValidationError("--override is an operator's, --schedule, --default-level and --configuration a scheduler's: publish them separately")
            }
            func seconds(_ text: String, _ option: String) throws -> Int64 {
                guard let date = ISO8601DateFormatter().date(from: text) else {
                    throw ValidationError("\(option) \(text) is not an ISO 8601 UTC time such as 2026-10-01T18:00:00Z")
                }
                return Int64(date.timeIntervalSince1970)
            }
            return .override(levelPercent: level, startSeconds: try from.map { try seconds($0, "--from") } ?? now,
                             expirySeconds: try seconds(until, "--until"), reason: reason)
        }
        guard schedule != nil || defaultLevel != nil || configuration != nil else { return .clearOverride }
        func read(_ path: String?) throws -> [UInt8]? {
            guard let path else { return nil }
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            return [UInt8](data)
        }
        return .schedule(json: try read(schedule), defaultLevelPercent: defaultLevel, configurationJSON: try read(configuration))
    }

    /// Reads an Ed25519 PKCS#8 PEM private key, refusing a file others can read.
    static func readKey(_ path: String) throws -> DeviceKey {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = attributes[.posixPermissions] as? Int
        else { throw ValidationError("cannot read the key file \(path)") }
        guard mode & 0o077 == 0 else {
            throw ValidationError("the key file \(path) can be read by group or others: chmod 600 \(path)")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let key = DeviceKey(pkcs8PEM: text) else {
            throw ValidationError("\(path) does not hold an Ed25519 private key (PKCS#8 PEM, as openssl genpkey -algorithm ed25519 writes)")
        }
        return key
    }
}
