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
        // Each record is written straight into the pack's bytes, its fields in the deterministic
        // order (RecordFields.encode): no map of CBOR values per record (1.1 MB for a 60 s batch
        // of 40 channels, docs/performance.md), the same bytes as encoding such a map.
        var encoder = CBOREncoder()
        encoder.reserveCapacity(records.count * 40)
        encoder.beginArray(count: records.count)
        for (index, spooled) in records.enumerated() {
            var fields = RecordFields()
            if index == 0 {
                fields.baseName = .text(SenMLLabel.baseName(for: deviceID))
                fields.baseTime = .int(baseSeconds)
            }
            let time = spooled.record.time
            let offsetNanoseconds = time.utcNanoseconds &- baseSeconds &* 1_000_000_000
            fields.time = Self.number(Self.quantisedSeconds(offsetNanoseconds))
            if !time.isClockSynchronised {
                fields.unsynchronisedBoot = Self.boot(of: time)
            } else if anchoredBoots.insert(time.bootID).inserted {
                fields.bootAnchor = Self.boot(of: time)
            }
            let senML = SenMLRecordFields(spooled.record)
            fields.name = .text(senML.name)
            if let unit = senML.unit { fields.unit = .text(unit.rawValue) }
            switch senML.value {
            case .number(let n): fields.value = Self.number(n)
            case .boolean(let b): fields.booleanValue = .bool(b)
            case .string(let s): fields.stringValue = .text(s)
            }
            if let severity = senML.severity { fields.severity = .unsigned(UInt64(severity.rawValue)) }
            switch senML.eventValue {
            case .number(let n)?: fields.eventValue = Self.number(n)
            case .boolean(let b)?: fields.eventValue = .bool(b)
            case .string(let s)?: fields.eventValue = .text(s)
            case nil: break
            }
            if case .reading(let reading) = spooled.record {
                let qualityBits = reading.quality.subtracting(.clockUnsynchronised).rawValue
                if qualityBits != 0 { fields.quality = .unsigned(UInt64(qualityBits)) }
            }
            fields.encode(into: &encoder)
        }
        return BatchPayload(
            bytes: encoder.bytes,
            firstSpoolSequence: first.sequence,
            lastSpoolSequence: last.sequence,
            recordCount: records.count
        )
    }

    /// The fields one SenML record may have, written as one CBOR map.
    struct RecordFields {
        var name, unit, value, stringValue, booleanValue, time: CBORValue?
        var baseName, baseTime: CBORValue?
        var quality, severity, eventValue, bootAnchor, unsynchronisedBoot: CBORValue?

        /// Writes the fields as one map, in the order RFC 8949 §4.2.1 sorts a map's entries
        /// (bytewise order of the encoded keys: the small positive integers 0…6, then -2 and -3,
        /// then the text labels, shorter first). A test holds it against that sort for every
        /// combination of fields. Written out field by field: a loop over a table of key paths
        /// made a batch slower to build than the maps it replaces (5.9 ms against 3.4 ms), and a
        /// table of the 13 (label, field) pairs built per record cost about half of the gain.
        func encode(into encoder: inout CBOREncoder) {
            let standard = Self.count(name) + Self.count(unit) + Self.count(value) + Self.count(stringValue)
                + Self.count(booleanValue) + Self.count(time) + Self.count(baseName) + Self.count(baseTime)
            let extensions = Self.count(quality) + Self.count(severity) + Self.count(eventValue) + Self.count(bootAnchor)
                + Self.count(unsynchronisedBoot)
            encoder.beginMap(count: standard + extensions)
            Self.put(SenMLLabel.name, name, into: &encoder)
            Self.put(SenMLLabel.unit, unit, into: &encoder)
            Self.put(SenMLLabel.value, value, into: &encoder)
            Self.put(SenMLLabel.stringValue, stringValue, into: &encoder)
            Self.put(SenMLLabel.booleanValue, booleanValue, into: &encoder)
            Self.put(SenMLLabel.time, time, into: &encoder)
            Self.put(SenMLLabel.baseName, baseName, into: &encoder)
            Self.put(SenMLLabel.baseTime, baseTime, into: &encoder)
            Self.put(SenMLLabel.quality, quality, into: &encoder)
            Self.put(SenMLLabel.severity, severity, into: &encoder)
            Self.put(SenMLLabel.eventValue, eventValue, into: &encoder)
            Self.put(SenMLLabel.bootAnchor, bootAnchor, into: &encoder)
            Self.put(SenMLLabel.unsynchronisedBoot, unsynchronisedBoot, into: &encoder)
        }

        private static func count(_ value: CBORValue?) -> Int { value == nil ? 0 : 1 }

        private static func put(_ label: CBORValue, _ value: CBORValue?, into encoder: inout CBOREncoder) {
            guard let value else { return }
            encoder.encode(label)
            encoder.encode(value)
        }
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

    /// `[boot id (16 bytes), boot time in ns]`, the value of `boot` and `boot_`.
    static func boot(of time: Timestamp) -> CBORValue {
        [.bytes(bytes(of: time.bootID)), .int(time.bootNanoseconds)]
    }

    static func bytes(of uuid: UUID) -> [UInt8] {
        withUnsafeBytes(of: uuid.uuid) { Array($0) }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
