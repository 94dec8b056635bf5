import Foundation
import Ingest
import Testing
import TestSupport
@testable import Uplink

/// Seeded fuzzing of lamp-ingest's batch decoding, verification and storage (issue 11, "keep it
/// found"): mutated valid batches, and validly signed batches with hostile field values. None may
/// trap; each is stored or refused with a 4xx reason; what was stored exports.
@Suite("lamp-ingest batch decoding under fuzzing")
struct BatchFuzzTests {
    static let integers: [CBORValue] = [
        0, 1, -1, 255, 256, 1_759_341_600, 9_223_372_036, -9_223_372_036, 9_223_372_037, .int(Int64.max), .int(Int64.min),
        .unsigned(UInt64.max), .negative(UInt64.max), .unsigned(UInt64(Int64.max) + 1),
    ]
    static let floats: [CBORValue] = [
        .float(.nan), .float(.infinity), .float(-.infinity), 8.9e9, -8.9e9, 9.3e9, 1e300, -1e300, 0.25, -0.0, .float(.leastNonzeroMagnitude),
    ]
    static let others: [CBORValue] = [
        "", "x", "lamp1/power", "event/door.opened", .bytes([]), .bytes([UInt8](repeating: 7, count: 16)), .null, .undefined, true,
        [], [.bytes([UInt8](repeating: 1, count: 16)), .int(Int64.max)], [.bytes([UInt8](repeating: 1, count: 16)), -1],
        .map([:]), .tagged(1, 0),
    ]

    static func value(_ random: inout SeededRandom) -> CBORValue {
        switch random.next() % 3 {
        case 0: random.pick(integers)
        case 1: random.pick(floats)
        default: random.pick(others)
        }
    }

    static let labels: [CBORValue] = [
        SenMLLabel.baseName, SenMLLabel.baseTime, SenMLLabel.name, SenMLLabel.unit, SenMLLabel.value, SenMLLabel.stringValue,
        SenMLLabel.booleanValue, SenMLLabel.time, SenMLLabel.quality, SenMLLabel.severity, SenMLLabel.eventValue,
        SenMLLabel.unsynchronisedBoot, SenMLLabel.bootAnchor, "x_", "x", 99,
    ]

    /// A SenML record: an ordinary one with some fields replaced by hostile values.
    static func record(_ random: inout SeededRandom, first: Bool) -> CBORValue {
        guard case .map(var fields) = HostileSigner.record() else { return .null }
        if !first {
            fields[SenMLLabel.baseName] = nil
            fields[SenMLLabel.baseTime] = nil
        }
        for _ in 0..<Int(random.next() % 4) {
            let label = random.pick(labels)
            if random.next() % 5 == 0 { fields[label] = nil } else { fields[label] = value(&random) }
        }
        if random.next() % 6 == 0 { fields[SenMLLabel.name] = random.pick(["cabinet/door/event/door.opened", "event/x", "a/event/"]) }
        return .map(fields)
    }

    static func hostileBatch(_ random: inout SeededRandom, signer: HostileSigner) -> [UInt8] {
        let count = random.pick([0, 1, 1, 2, 3, 10, 2000])
        let pack = CBORValue.array((0..<count).map { record(&random, first: $0 == 0) })
        var range: CBORValue = [1, .int(Int64(max(count, 1)))]
        if random.next() % 4 == 0 { range = [value(&random), value(&random)] }
        if random.next() % 8 == 0 { range = value(&random) }
        let sequence: CBORValue = random.next() % 4 == 0 ? value(&random) : .unsigned(random.next() % 5 + 1)
        let previousHash: CBORValue = random.next() % 6 == 0 ? value(&random) : .bytes([])
        // The optional spool backlog: absent, a plausible count, or a hostile value.
        let backlog: [CBORValue: CBORValue] = switch random.next() % 3 {
        case 0: [:]
        case 1: [COSEHeader.spoolBacklog: .unsigned(random.next() % 1000)]
        default: [COSEHeader.spoolBacklog: value(&random)]
        }
        let protected = signer.protectedHeader(sequence: sequence, previousHash: previousHash, range: range, extra: backlog)
        let unprotected: CBORValue = random.next() % 10 == 0 ? .map([value(&random): value(&random)]) : .map([:])
        switch random.next() % 5 {
        case 0:
            // The payload's bytes mutated, then signed: the reader meets malformed CBOR.
            return signer.sign(protected: protected, unprotected: unprotected, payloadBytes: random.mutate(pack.encoded(), maximumEdits: 6))
        default:
            return signer.sign(protected: protected, unprotected: unprotected, payload: pack)
        }
    }

    @Test func anyBatchIsStoredOrRefusedWithAReasonNeverATrap() async throws {
        let board = try TestBoard()
        let signer = HostileSigner(board: board)
        let fixture = try ReceiverFixture(enrolling: board)
        defer { fixture.remove() }
        var random = SeededRandom(seed: 0x494e_4745_5354)
        var chain = board
        let valid = try (0..<3).map { _ in try chain.next(count: 4).bytes }
        var stored = 0
        var refused: [IngestError.Code: Int] = [:]
        for iteration in 0..<700 {
            let bytes = iteration % 3 == 0
                ? random.mutate(random.pick(valid), maximumEdits: 8, dictionary: [[0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], [0x3b, 0x7f]])
                : Self.hostileBatch(&random, signer: signer)
            switch await fixture.receive(bytes) {
            case .success:
                stored += 1
            case .failure(let error):
                refused[error.reason, default: 0] += 1
                #expect((400..<500).contains(error.httpStatus), "iteration \(iteration): \(error)")
                #expect(!error.message.isEmpty)
            }
        }
        #expect(stored > 0, "nothing was stored: the generator only makes refusals")
        #expect(refused[.malformedPayload, default: 0] > 0 && refused[.malformedBatch, default: 0] > 0, "\(refused)")
        // Whatever was stored exports (every stored batch verifies again, every time resolves).
        var text = ""
        let exported = try await SenMLExporter(store: fixture.receiver.store).export(ExportFilter()) { text += $0 }
        #expect(exported > 0)
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil, "export is not JSON")
    }
}
