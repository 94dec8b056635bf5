import Clocks
import Foundation
@testable import Telemetry
import Testing
import TestSupport

@testable import Uplink

/// The batch builder writes each record's CBOR map straight into the pack, its fields in a fixed
/// order, instead of building a map of CBOR values and letting the encoder sort it. These tests
/// hold that the bytes are the same: RFC 8949 §4.2.1 deterministic encoding, what a receiver that
/// re-encodes (and the signature over the pack) relies on.
@Suite("Batch encoding")
struct BatchEncodingTests {
    @Test("any set of a record's fields is written as the sorted map of those fields would be", arguments: 0..<4)
    func fieldsAsTheirSortedMap(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let values: [CBORValue] = [
            .int(0), .int(-1), .int(1_000_000), .unsigned(2), .float(0.5), .float(230.1), .bool(true),
            .text(""), .text("lamp1/power"), .text("ünïcode ✓"), [.bytes([1, 2, 3]), .int(42)],
        ]
        for _ in 0..<500 {
            var fields = BatchBuilder.RecordFields()
            var map: [CBORValue: CBORValue] = [:]
            for label in Self.labels where random.next() % 2 == 0 {
                let value = random.pick(values)
                fields[keyPath: Self.field(label)] = value
                map[label] = value
            }
            var encoder = CBOREncoder()
            fields.encode(into: &encoder)
            #expect(encoder.bytes == CBORValue.map(map).encoded())
        }
    }

    @Test("a whole pack of mixed records decodes and re-encodes to the same bytes", arguments: 0..<4)
    func packIsDeterministic(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let boots = [Fixtures.bootID, UUID(uuidString: "0B7E8D8A-3F7C-4E61-9A7B-5C1D2E3F4A5B")!]
        let units: [SenMLUnit] = [.none, .watt, .kilowattHour, .celsius]
        var records: [SpooledRecord] = []
        for sequence in 1...300 {
            let time = Timestamp(
                utcNanoseconds: Fixtures.baseUTCNanoseconds + Int64(sequence) * 250_000_000 + Int64(random.next() % 1000),
                bootNanoseconds: Int64(sequence) * 1_000_000, bootID: random.pick(boots),
                isClockSynchronised: random.next() % 5 != 0)
            let value: ReadingValue = random.pick([
                .number(Double(random.next() % 100_000) / 7), .number(-0.0), .number(Double(random.next() % 10)),
                .boolean(random.next() % 2 == 0), .string("fault \(random.next() % 100)"),
            ])
            let channel = ChannelName(rawValue: "meter/channel-\(random.next() % 40)")!
            if random.next() % 10 == 0 {
                let event = Event(
                    kind: "door.opened", severity: random.pick(EventSeverity.allCases),
                    channel: random.next() % 2 == 0 ? channel : nil, value: random.next() % 2 == 0 ? value : nil,
                    time: time, message: "cabinet door opened")
                records.append(SpooledRecord(sequence: Int64(sequence), record: .event(event)))
            } else {
                let unit = if case .number = value { random.pick(units) } else { SenMLUnit.none }
                let reading = Reading(
                    channel: channel, value: value, unit: unit, time: time,
                    quality: random.pick([.good, .uncertain, .bad, [.uncertain, .bad]]))
                records.append(SpooledRecord(sequence: Int64(sequence), record: .reading(reading)))
            }
        }
        let payload = try BatchBuilder(deviceID: Fixtures.deviceID).build(records: records)
        let decoded = try CBORDecoder().decode(payload.bytes)
        let reencoded = decoded.encoded() == payload.bytes  // not #expect(a == b): 15 kB of bytes printed twice
        #expect(reencoded, "the pack is not in RFC 8949 deterministic encoding")
        guard case .array(let items) = decoded else {
            Issue.record("the pack is not an array: \(decoded)")
            return
        }
        #expect(items.count == records.count)
    }

    /// Every label a record may carry.
    static let labels: [CBORValue] = [
        SenMLLabel.name, SenMLLabel.unit, SenMLLabel.value, SenMLLabel.stringValue, SenMLLabel.booleanValue,
        SenMLLabel.time, SenMLLabel.baseName, SenMLLabel.baseTime, SenMLLabel.quality, SenMLLabel.severity,
        SenMLLabel.eventValue, SenMLLabel.bootAnchor, SenMLLabel.unsynchronisedBoot,
    ]

    /// The field of `RecordFields` that `label` names (the test writes fields by their label).
    static func field(_ label: CBORValue) -> WritableKeyPath<BatchBuilder.RecordFields, CBORValue?> {
        switch label {
        case SenMLLabel.name: \.name
        case SenMLLabel.unit: \.unit
        case SenMLLabel.value: \.value
        case SenMLLabel.stringValue: \.stringValue
        case SenMLLabel.booleanValue: \.booleanValue
        case SenMLLabel.time: \.time
        case SenMLLabel.baseName: \.baseName
        case SenMLLabel.baseTime: \.baseTime
        case SenMLLabel.quality: \.quality
        case SenMLLabel.severity: \.severity
        case SenMLLabel.eventValue: \.eventValue
        case SenMLLabel.bootAnchor: \.bootAnchor
        default: \.unsynchronisedBoot
        }
    }
}
