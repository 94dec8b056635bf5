import Downlink
import Foundation
import Ingest
import Lighting
import Uplink

/// The one way lamp-ingest makes desired-state documents (docs/downlink.md §9): builds the
/// document from a `PublishOrder`, signs it with the role's city key, checks a board would decode
/// it, and stores each version in the published-state store. `lamp-ingest publish` and the live
/// view (`serve --live-view --city-keys DIR`) both call it. Keys are held in memory, never logged.
struct CityPublisher: DesiredStatePublisher {
    /// Role (`operator`, `scheduler`) → its private key.
    let keys: [String: DeviceKey]
    let store: any PublishedStateStore
    /// The clock for issue time (tests may fix it).
    var now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970.rounded(.down)) }

    var roles: Set<String> { Set(keys.keys) }

    /// Reads `DIR/operator.key` and `DIR/scheduler.key` (either may be absent, not both), each
    /// refused when group or others can read it.
    static func keys(directory: String) throws -> [String: DeviceKey] {
        var keys: [String: DeviceKey] = [:]
        for role in DesiredStateRole.allCases {
            let path = directory + "/" + role.rawValue + ".key"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            keys[role.rawValue] = try PublishCommand.readKey(path)
        }
        guard !keys.isEmpty else {
            throw IngestError(.invalidArgument, "--city-keys \(directory) holds neither operator.key nor scheduler.key (Ed25519 PKCS#8 PEM, mode 0600)")
        }
        return keys
    }

    func publish(_ order: PublishOrder) async -> PublishResult {
        var published: [PublishedVersion] = []
        do {
            let role = order.content.role
            guard let key = keys[role] else {
                throw IngestError(.invalidArgument, "no \(role) key: put \(role).key in the --city-keys directory to publish this")
            }
            let template = try Self.template(order, now: now())
            for device in order.devices {
                let version: UInt64
                if let fixed = order.version { version = fixed } else { version = try await store.lastVersion(device: device, role: role) + 1 }
                let bytes = try Self.sign(template, device: device, version: version, key: key)
                try await store.publish(PublishedDocument(device: device, role: role, version: version, document: bytes, publishedAt: Date()))
                published.append(PublishedVersion(device: device, role: role, version: version, bytes: bytes.count, keyID: key.publicKey.kidHex))
            }
            return PublishResult(published: published)
        } catch let error as IngestError {
            return PublishResult(published: published, error: error)
        } catch {
            return PublishResult(published: published, error: IngestError(.storeFailed, "\(error)"))
        }
    }

    /// The document's content from the order; device and version are set per board.
    static func template(_ order: PublishOrder, now: Int64) throws(IngestError) -> DesiredState {
        guard PublishOrder.validHoursRange.contains(order.validHours) else {
            throw IngestError(.invalidArgument, "the validity must be 1 … 8784 hours")
        }
        guard !order.devices.isEmpty else { throw IngestError(.invalidArgument, "no device to publish to") }
        for device in order.devices where DeviceID(rawValue: device) == nil {
            throw IngestError(.invalidArgument, "\(device.prefix(64)) is not a device id")
        }
        if let version = order.version, !(1...UInt64(Int64.max)).contains(version) {
            throw IngestError(.invalidArgument, "the version must be 1 … 2^63−1")
        }
        var state = DesiredState(deviceID: "", version: 1, issuedAtSeconds: now, expiresAtSeconds: now + Int64(order.validHours) * 3600)
        switch order.content {
        case .override(let level, let start, let expiry, let reason):
            guard (0...100).contains(level) else { throw IngestError(.invalidArgument, "the override level must be 0–100 %") }
            guard expiry > start else { throw IngestError(.invalidArgument, "the override must end after it starts") }
            guard expiry > now else { throw IngestError(.invalidArgument, "the override's end \(PublishedContent.time(expiry)) is already past") }
            guard (reason?.utf8.count ?? 0) <= 256 else { throw IngestError(.invalidArgument, "the reason is longer than 256 bytes") }
            state.override = CityOverride(levelPercent: level, startSeconds: start, expirySeconds: expiry, reason: reason)
        case .clearOverride:
            break
        case .schedule(let json, let level, let configuration):
            guard json != nil || level != nil || configuration != nil else {
                throw IngestError(.invalidArgument, "give a schedule, a default level, a configuration, or several")
            }
            if let configuration { state.configuration = try remoteConfiguration(configuration) }
            if let level {
                guard (0...100).contains(level) else { throw IngestError(.invalidArgument, "the default level must be 0–100 %") }
                state.defaultLightStatePercent = level
            }
            if let json {
                do {
                    state.schedule = try JSONDecoder().decode(Schedule.self, from: Data(json))
                } catch {
                    throw IngestError(.invalidArgument, "not a valid schedule ({\"calendar\": …, \"programs\": […]} as in docs/downlink.md): \(error)")
                }
            }
        }
        return state
    }

    /// The remote configuration from its JSON (docs/downlink.md §3): unknown keys are refused, as a
    /// board refuses them; the ranges are checked with the whole document (`sign`).
    static func remoteConfiguration(_ json: [UInt8]) throws(IngestError) -> RemoteConfiguration {
        let keys: Set<String> = ["batchIntervalSeconds", "maxBytesPerDay", "samplingPeriodSeconds"]
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw IngestError(.invalidArgument, "the configuration is not a JSON object {\"batchIntervalSeconds\": …, \"maxBytesPerDay\": …, \"samplingPeriodSeconds\": {…}}")
        }
        if let unknown = object.keys.filter({ !keys.contains($0) }).sorted().first {
            throw IngestError(.invalidArgument, "the configuration has the key \"\(unknown.prefix(64))\", which boards refuse (known: \(keys.sorted().joined(separator: ", ")))")
        }
        do {
            let configuration = try JSONDecoder().decode(RemoteConfiguration.self, from: Data(json))
            guard !configuration.isEmpty else { throw IngestError(.invalidArgument, "the configuration sets nothing") }
            return configuration
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.invalidArgument, "the configuration's values are not whole numbers of the right kind (docs/downlink.md §3): \(error)")
        }
    }

    /// The signed document for one board, checked as a board would decode it.
    static func sign(_ template: DesiredState, device: String, version: UInt64, key: DeviceKey) throws(IngestError) -> [UInt8] {
        var state = template
        state.deviceID = device
        state.version = version
        let bytes = DesiredStateSigner(key: key).sign(state)
        guard bytes.count <= DesiredStateLimits.maximumDocumentBytes else {
            throw IngestError(.invalidArgument, "the document has \(bytes.count) bytes; a board accepts at most \(DesiredStateLimits.maximumDocumentBytes)")
        }
        do {
            _ = try DesiredStateCodec.decode(DesiredStateCodec.encode(state).encoded())
        } catch {
            throw IngestError(.invalidArgument, "a board would refuse this document: \(error.description)")
        }
        return bytes
    }
}
