import Foundation
import Ingest
import Clocks
import Telemetry
import Uplink

/// A simulated board for the FleetView and LiveView tests: signs batches of events and readings in chain order and
/// hands them back verified, as the receiver's `onStored` sees them.
public struct FleetBoard {
    public let identity: DeviceIdentity
    public private(set) var sequence: UInt64 = 0
    public private(set) var previousHash: [UInt8] = []
    public private(set) var spoolSequence: Int64 = 0

    /// 2025-10-01T18:00:00Z.
    public static let baseUTCNanoseconds: Int64 = 1_759_341_600_000_000_000
    public static let base = Date(timeIntervalSince1970: 1_759_341_600)
    public static let bootID = UUID(uuidString: "6F1C9A0E-3B52-4D8E-9F07-2A64C1D0B3E5") ?? UUID()

    public init(device: String, seedByte: UInt8 = 1) throws {
        identity = DeviceIdentity(deviceID: try DeviceID(device), key: try DeviceKey(seed: [UInt8](repeating: seedByte, count: 32)))
    }

    public var publicKey: DevicePublicKey { identity.key.publicKey }

    /// A time `seconds` after `base`.
    public static func time(_ seconds: Int64, synchronised: Bool = true) -> Timestamp {
        Timestamp(
            utcNanoseconds: baseUTCNanoseconds + seconds * 1_000_000_000, bootNanoseconds: 3_600_000_000_000 + seconds * 1_000_000_000,
            bootID: bootID, isClockSynchronised: synchronised)
    }

    /// An event record.
    public static func event(
        _ kind: String, at seconds: Int64, value: ReadingValue? = nil, channel: String? = nil, message: String = "",
        severity: EventSeverity = .warning, synchronised: Bool = true
    ) -> SpoolRecord {
        .event(Event(kind: kind, severity: severity, channel: channel.flatMap { ChannelName(rawValue: $0) }, value: value,
                     time: time(seconds, synchronised: synchronised), message: message))
    }

    /// A numeric reading.
    public static func reading(_ channel: String, _ value: Double, at seconds: Int64, unit: SenMLUnit = .watt) -> SpoolRecord {
        .reading(Reading(channel: ChannelName(rawValue: channel)!, value: .number(value), unit: unit, time: time(seconds)))
    }

    /// Signs `records` as the next batch of the chain; `spoolBacklog` is the header's (nil: left out).
    public mutating func next(_ records: [SpoolRecord], spoolBacklog: UInt64? = nil) throws -> SignedBatch {
        let spooled = records.map { record in
            spoolSequence += 1
            return SpooledRecord(sequence: spoolSequence, record: record)
        }
        let payload = try BatchBuilder(deviceID: identity.deviceID).build(records: spooled)
        sequence += 1
        let batch = BatchSigner(identity: identity)
            .sign(payload: payload, sequence: sequence, previousHash: previousHash, spoolBacklog: spoolBacklog)
        previousHash = batch.hash
        return batch
    }

    /// The next batch, verified.
    public mutating func verified(_ records: [SpoolRecord], spoolBacklog: UInt64? = nil) throws -> VerifiedBatch {
        let signed = try next(records, spoolBacklog: spoolBacklog)
        return try BatchVerifier.verify(bytes: signed.bytes, publicKey: publicKey)
    }
}
