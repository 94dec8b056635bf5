import ControlProtocol
import Foundation
import Telemetry
import Testing
import Uplink

@testable import Agent
import Clocks

/// Issue 12, item 1: `lampctl spool export` named events `event.<kind>` under `<id>:` while the
/// signed batch (and so `lamp-ingest export`) names them `<channel>/event/<kind>` under
/// `urn:dev:lampd:<id>:`. One mapping (`SenMLRecordFields`) now serves both.
@Suite("One SenML mapping at the pole and upstream")
struct SenMLMappingTests {
    static let time = Timestamp(utcNanoseconds: 1_759_341_600_000_000_000, bootNanoseconds: 5_000_000_000,
                                bootID: UUID(), isClockSynchronised: true)

    static var records: [SpooledRecord] {
        [
            SpooledRecord(sequence: 1, record: .reading(Reading(channel: ChannelName(rawValue: "meter.energy")!, value: .number(12.5),
                                                                 unit: SenMLUnit(rawValue: "kWh")!, time: time))),
            SpooledRecord(sequence: 2, record: .reading(Reading(channel: ChannelName(rawValue: "cabinet.door")!, value: .boolean(true), time: time))),
            SpooledRecord(sequence: 3, record: .event(Event(kind: "cabinet.door.opened", severity: .alarm, channel: ChannelName(rawValue: "cabinet.door"),
                                                            value: .boolean(true), time: time, message: "door opened"))),
            SpooledRecord(sequence: 4, record: .event(Event(kind: "spool.lost", severity: .alarm, time: time, message: "records lost"))),
            SpooledRecord(sequence: 5, record: .event(Event(kind: "odd kind/with slash", severity: .warning, time: time, message: "odd"))),
        ]
    }

    @Test("Every record has the same full name, unit, value and severity in the spool export and in the signed batch")
    func sameRecordSameEverywhere() throws {
        let deviceID = try #require(DeviceID(rawValue: "pole-7"))
        let key = try DeviceKey(seed: [UInt8](repeating: 7, count: 32))
        let payload = try BatchBuilder(deviceID: deviceID).build(records: Self.records)
        let signed = BatchSigner(identity: DeviceIdentity(deviceID: deviceID, key: key)).sign(payload: payload, sequence: 1, previousHash: [])
        let upstream = try BatchVerifier.verify(bytes: signed.bytes, publicKey: key.publicKey).records

        let exported = SpoolExportFormat.senML(Self.records, deviceID: deviceID.rawValue)
        let baseName = try #require(exported.first?["bn"]?.stringValue)
        #expect(baseName == "urn:dev:lampd:pole-7:")
        #expect(exported.count == upstream.count)
        for (local, remote) in zip(exported, upstream) {
            let name = baseName + (local["n"]?.stringValue ?? "")
            #expect(name == remote.name)
            #expect((local["u"]?.stringValue ?? "") == remote.unit, "\(name)")
            if let message = remote.message { #expect(local["vs"]?.stringValue == message, "\(name)") }
            switch remote.value {
            case .number(let n)?: #expect(local["v"] == .number(n) || local["val"] == .number(n), "\(name)")
            case .boolean(let b)?: #expect(local["vb"] == .bool(b) || local["val"] == .bool(b), "\(name)")
            case .string(let s)?: #expect(local["vs"] == .string(s) || local["val"] == .string(s), "\(name)")
            case nil: break
            }
            if case .event(_, let severity) = remote.kind {
                #expect(local["sev"] == .number(Double(severity.rawValue)), "\(name)")
            }
        }
        #expect(upstream.map(\.name) == [
            "urn:dev:lampd:pole-7:meter.energy", "urn:dev:lampd:pole-7:cabinet.door",
            "urn:dev:lampd:pole-7:cabinet.door/event/cabinet.door.opened", "urn:dev:lampd:pole-7:event/spool.lost",
            "urn:dev:lampd:pole-7:event/odd_kind_with_slash",
        ])
        // kWh goes out as J, at the pole too.
        #expect(exported[0]["u"] == .string("J") && exported[0]["v"] == .number(45_000_000))
    }
}
