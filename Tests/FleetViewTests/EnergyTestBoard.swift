import Clocks
import Foundation
import Ingest
@testable import Telemetry
@testable import Uplink

/// A board for the FleetView tests: signs batches of readings and events and stores them directly
/// (`BatchStore.accept`), as the receiver would.
struct EnergyTestBoard {
    let identity: DeviceIdentity
    private var sequence: UInt64 = 0
    private var previousHash: [UInt8] = []
    private var spoolSequence: Int64 = 0
    private var pending: [SpoolRecord] = []

    init(device: String, seedByte: UInt8) throws {
        identity = DeviceIdentity(deviceID: try DeviceID(device), key: try DeviceKey(seed: [UInt8](repeating: seedByte, count: 32)))
    }

    static func time(_ seconds: Double) -> Timestamp {
        let nanoseconds = Int64((seconds * 1e9).rounded())
        return Timestamp(utcNanoseconds: nanoseconds, bootNanoseconds: nanoseconds, bootID: UUID(), isClockSynchronised: true)
    }

    mutating func reading(_ channel: String, _ value: Double, unit: SenMLUnit, at seconds: Double) {
        pending.append(.reading(Reading(channel: ChannelName(rawValue: channel)!, value: .number(value), unit: unit, time: Self.time(seconds))))
    }

    mutating func level(_ percent: Double, at seconds: Double, kind: String = "lamp.level", message: String = "city schedule") {
        pending.append(
            .event(Event(kind: kind, severity: .info, channel: ChannelName(rawValue: "lamp.level"), value: .number(percent),
                         time: Self.time(seconds), message: message)))
    }

    /// Signs what is pending as the next batch and stores it, received at `receivedAt`.
    mutating func send(to store: any BatchStore, receivedAt: Date) async throws {
        guard !pending.isEmpty else { return }
        let records = pending.enumerated().map { SpooledRecord(sequence: spoolSequence + Int64($0.offset) + 1, record: $0.element) }
        spoolSequence += Int64(pending.count)
        pending = []
        let payload = try BatchBuilder(deviceID: identity.deviceID).build(records: records)
        sequence += 1
        let batch = BatchSigner(identity: identity).sign(payload: payload, sequence: sequence, previousHash: previousHash)
        previousHash = batch.hash
        let verified = try BatchVerifier.verify(bytes: batch.bytes, publicKey: identity.key.publicKey)
        _ = try await store.accept(verified, bytes: batch.bytes, publicKey: identity.key.publicKey, receivedAt: receivedAt)
    }
}

func withTemporaryStore(_ body: (IngestStore) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleetview-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try await body(try IngestStore(path: directory.appendingPathComponent("ingest.sqlite").path))
}
