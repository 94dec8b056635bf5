import FoundationEssentials
import Telemetry
import Clocks

/// The SenML pack of one batch, CBOR-encoded (`application/senml+cbor`), ready to be signed.
public struct BatchPayload: Hashable, Sendable {
    /// The encoded SenML pack.
    public var bytes: [UInt8]
    /// Spool sequence number of the first record in the pack.
    public var firstSpoolSequence: Int64
    /// Spool sequence number of the last record in the pack.
    public var lastSpoolSequence: Int64
    /// Number of SenML records (one per spooled record).
    public var recordCount: Int
}

/// Turns spooled readings and events into one SenML pack (RFC 8428) in CBOR, as docs/uplink.md
/// describes.
///
/// - The first record carries the base name `urn:dev:lampd:<device-id>:` and the base time
///   (whole seconds, from the first record whose clock was synchronised, else the first record);
///   every record's `t` is relative to it, in seconds, rounded to 1/1024 s.
/// - Names, units and values as `SenMLRecordFields` (Telemetry) maps them, the one mapping that
///   `lampctl spool export` and `lamp-ingest export` share.
/// - A record taken with an unsynchronised clock carries the must-understand `boot_` field.
///
/// How many records go into one batch is the caller's choice (the transport bounds it).
public struct BatchBuilder: Sendable {
    /// Whose records these are.
    public var deviceID: DeviceID

    public init(deviceID: DeviceID) {
        self.deviceID = deviceID
    }

    /// Builds the pack. Records are kept in the order given (spool order).
    public func build(records: [SpooledRecord]) throws(UplinkError) -> BatchPayload {
        guard let first = records.first, let last = records.last else {
            throw UplinkError(.emptyBatch, "a batch needs at least one record")
        }
        let anchor = records.first { $0.record.time.isClockSynchronised } ?? first
        let baseSeconds = Self.floorDiv(anchor.record.time.utcNanoseconds, 1_000_000_000)
        var anchoredBoots: Set<UUID> = []
        var pack: [CBORValue] = []
        pack.reserveCapacity(records.count)
        for (index, spooled) in records.enumerated() {
            var fields: [CBORValue: CBORValue] = [:]
            if index == 0 {
                fields[SenMLLabel.baseName] = .text(SenMLLabel.baseName(for: deviceID))
                fields[SenMLLabel.baseTime] = .int(baseSeconds)
            }
            let time = spooled.record.time
            let offsetNanoseconds = time.utcNanoseconds &- baseSeconds &* 1_000_000_000
            fields[SenMLLabel.time] = Self.number(Self.quantisedSeconds(offsetNanoseconds))
            let boot: CBORValue = [.bytes(Self.bytes(of: time.bootID)), .int(time.bootNanoseconds)]
            if !time.isClockSynchronised {
                fields[SenMLLabel.unsynchronisedBoot] = boot
            } else if anchoredBoots.insert(time.bootID).inserted {
                fields[SenMLLabel.bootAnchor] = boot
            }
            let senML = SenMLRecordFields(spooled.record)
            fields[SenMLLabel.name] = .text(senML.name)
            if let unit = senML.unit { fields[SenMLLabel.unit] = .text(unit.rawValue) }
            switch senML.value {
            case .number(let n): fields[SenMLLabel.value] = Self.number(n)
            case .boolean(let b): fields[SenMLLabel.booleanValue] = .bool(b)
            case .string(let s): fields[SenMLLabel.stringValue] = .text(s)
            }
            if let severity = senML.severity { fields[SenMLLabel.severity] = .unsigned(UInt64(severity.rawValue)) }
            switch senML.eventValue {
            case .number(let n)?: fields[SenMLLabel.eventValue] = Self.number(n)
            case .boolean(let b)?: fields[SenMLLabel.eventValue] = .bool(b)
            case .string(let s)?: fields[SenMLLabel.eventValue] = .text(s)
            case nil: break
            }
            if case .reading(let reading) = spooled.record {
                let qualityBits = reading.quality.subtracting(.clockUnsynchronised).rawValue
                if qualityBits != 0 { fields[SenMLLabel.quality] = .unsigned(UInt64(qualityBits)) }
            }
            pack.append(.map(fields))
        }
        return BatchPayload(
            bytes: CBORValue.array(pack).encoded(),
            firstSpoolSequence: first.sequence,
            lastSpoolSequence: last.sequence,
            recordCount: records.count
        )
    }

    /// Time resolution of `t`: 1/1024 s (under a millisecond). A binary fraction is exact in a
    /// float, so `t` fits a half or single float instead of a double, and a pack of 1 Hz
    /// readings compresses to about half (docs/uplink.md §3, docs/performance.md).
    static let timeStepsPerSecond = 1024.0

    /// `nanoseconds` in seconds, rounded to the nearest 1/1024 s.
    static func quantisedSeconds(_ nanoseconds: Int64) -> Double {
        (Double(nanoseconds) / 1e9 * timeStepsPerSecond).rounded() / timeStepsPerSecond
    }

    /// A number as a CBOR integer when it is a whole number that a double holds exactly
    /// (|n| ≤ 2^53), else as a float (the encoder picks the shortest exact width).
    static func number(_ n: Double) -> CBORValue {
        if n.isFinite, n == n.rounded(), abs(n) <= 9_007_199_254_740_992, !(n == 0 && n.sign == .minus) {
            return .int(Int64(n))
        }
        return .float(n)
    }

    static func bytes(of uuid: UUID) -> [UInt8] {
        withUnsafeBytes(of: uuid.uuid) { Array($0) }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
