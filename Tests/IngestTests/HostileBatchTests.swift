import Foundation
import Ingest
import Testing
import TestSupport
@testable import Uplink

/// Issue 11 #12: one validly signed batch with a hostile field value killed lamp-ingest (and the
/// board resent it to every restarted server), and some invalid batches were stored. Every such
/// batch must now get a clean 4xx refusal with a reason.
@Suite("Hostile signed batches")
struct HostileBatchTests {
    let board: TestBoard
    let signer: HostileSigner
    let fixture: ReceiverFixture

    init() throws {
        board = try TestBoard()
        signer = HostileSigner(board: board)
        fixture = try ReceiverFixture(enrolling: board)
    }

    func expectRefused(_ bytes: [UInt8], _ code: IngestError.Code, containing text: String,
                       sourceLocation: SourceLocation = #_sourceLocation) async {
        switch await fixture.receive(bytes) {
        case .success(let ack):
            Issue.record("stored: \(ack)", sourceLocation: sourceLocation)
        case .failure(let error):
            #expect(error.reason == code, "\(error)", sourceLocation: sourceLocation)
            #expect((400..<500).contains(error.httpStatus), sourceLocation: sourceLocation)
            #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
        }
    }

    @Test func extremeTimesAreRefusedNotATrap() async throws {
        defer { fixture.remove() }
        // t = 8.9e9 passed the reader's own range check, then bt + t overflowed.
        await expectRefused(signer.sign(payload: [HostileSigner.record(t: 8.9e9)]), .malformedPayload, containing: "t")
        // bt = −2^63: abs() of it traps.
        await expectRefused(signer.sign(payload: [HostileSigner.record(bt: .negative(UInt64(Int64.max)))]), .malformedPayload, containing: "bt")
        await expectRefused(signer.sign(payload: [HostileSigner.record(bt: .int(Int64.max))]), .malformedPayload, containing: "bt")
        await expectRefused(signer.sign(payload: [HostileSigner.record(bt: 9_223_372_036, t: 1)]), .malformedPayload, containing: "t")
        for t: CBORValue in [.float(.nan), .float(.infinity), .float(-.infinity), .float(-9.3e9), "soon", .unsigned(UInt64.max)] {
            await expectRefused(signer.sign(payload: [HostileSigner.record(t: t)]), .malformedPayload, containing: "t")
        }
        // A negative boot time is not a CLOCK_BOOTTIME value.
        let boot: CBORValue = [.bytes([UInt8](repeating: 1, count: 16)), .int(-1)]
        await expectRefused(signer.sign(payload: [HostileSigner.record(extra: [SenMLLabel.bootAnchor: boot])]), .malformedPayload, containing: "boot")
        // The latest time a board can send (its clock clamped at 2262) is still accepted.
        let latest = signer.sign(payload: [HostileSigner.record(bt: 9_223_372_036, t: 0.5)])
        guard case .success = await fixture.receive(latest) else { Issue.record("the latest representable time was refused"); return }
    }

    @Test func headersThatNoBoardSendsAreRefused() async throws {
        defer { fixture.remove() }
        let pack: CBORValue = [HostileSigner.record()]
        await expectRefused(signer.sign(protected: signer.protectedHeader(sequence: 0), payload: pack), .malformedBatch, containing: "sequence")
        await expectRefused(signer.sign(protected: signer.protectedHeader(sequence: .unsigned(UInt64(Int64.max) + 1)), payload: pack),
                            .malformedBatch, containing: "sequence")
        for range: CBORValue in [[5, 3], [0, 1], [-1, 1], [.int(Int64.min), .int(Int64.max)], [1, .unsigned(UInt64.max)], [1], [1, "2"]] {
            await expectRefused(signer.sign(protected: signer.protectedHeader(range: range), payload: pack), .malformedBatch, containing: "spool range")
        }
        // More records than spool sequence numbers in the range.
        await expectRefused(signer.sign(protected: signer.protectedHeader(range: [7, 7]), payload: [HostileSigner.record(), HostileSigner.record()]),
                            .malformedBatch, containing: "spool range")
        // The optional spool backlog (-65541) must be a uint ≤ 2^63 − 1 when present.
        for backlog: CBORValue in [-1, .unsigned(UInt64(Int64.max) + 1), "3", .float(3), .null, [1]] {
            await expectRefused(signer.sign(protected: signer.protectedHeader(extra: [COSEHeader.spoolBacklog: backlog]), payload: pack),
                                .malformedBatch, containing: "spool backlog")
        }
        await expectRefused(signer.sign(unprotected: .map([4: .bytes([1])]), payload: pack), .malformedBatch, containing: "unprotected")
        await expectRefused(signer.sign(unprotected: .array([]), payload: pack), .malformedBatch, containing: "unprotected")
        await expectRefused(signer.sign(payload: []), .malformedPayload, containing: "no record")
        // None of these was stored; a good batch still is.
        guard case .success = await fixture.receive(signer.sign(payload: pack)) else { Issue.record("a good batch was refused"); return }
    }

    @Test func hugeArraysAreRefusedBeforeTheyAreDecoded() async throws {
        defer { fixture.remove() }
        // More records than any board sends: refused at the array's head, not after decoding 100 001 maps.
        let tooMany = CBORValue.array([HostileSigner.record()] + Array(repeating: .map([SenMLLabel.name: "a", SenMLLabel.value: 1]), count: 100_000))
        await expectRefused(signer.sign(protected: signer.protectedHeader(range: [1, 200_000]), payload: tooMany), .malformedPayload, containing: "payload")
        // A protected header padded to megabytes, unsigned and unauthenticated: refused by its size.
        let padded = signer.protectedHeader(extra: [99: .array(Array(repeating: 0, count: 2000))])
        await expectRefused(signer.sign(protected: padded, payload: [HostileSigner.record()]), .malformedBatch, containing: "protected header")
    }

    @Test func badFieldTypesAreRefusedWithTheirName() async throws {
        defer { fixture.remove() }
        await expectRefused(signer.sign(payload: [HostileSigner.record(extra: [SenMLLabel.unit: 1])]), .malformedPayload, containing: "u ")
        await expectRefused(signer.sign(payload: [HostileSigner.record(extra: [SenMLLabel.quality: 256])]), .malformedPayload, containing: "q ")
        await expectRefused(signer.sign(payload: [HostileSigner.record(extra: [SenMLLabel.quality: -1])]), .malformedPayload, containing: "q ")
        await expectRefused(signer.sign(payload: [HostileSigner.record(extra: [SenMLLabel.severity: .unsigned(UInt64.max)])]), .malformedPayload, containing: "sev")
    }
}
