import Foundation
import Testing
import TestSupport
@testable import Downlink
import Uplink

@Suite("Desired state: encoding, signature and the board's checks")
struct DesiredStateTests {
    typealias F = DownlinkFixtures
    let verifier = DesiredStateVerifier(keyring: F.keyring)

    func refusal(_ bytes: [UInt8], board: BoardDownlinkState = F.board()) -> DesiredStateRefusal.Reason? {
        do {
            _ = try verifier.verify(bytes, board: board)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func aSchedulerDocumentRoundTrips() throws {
        let state = F.schedulerDocument()
        let verified = try verifier.verify(F.signed(state), board: F.board(applied: [.scheduler: 6]))
        #expect(verified.state == state)
        #expect(verified.role == .scheduler)
        #expect(verified.kidHex == F.schedulerKey.publicKey.kidHex)
    }

    @Test func anOperatorDocumentRoundTrips() throws {
        let state = F.operatorDocument()
        let verified = try verifier.verify(F.signed(state, by: F.operatorKey), board: F.board())
        #expect(verified.state == state)
        #expect(verified.role == .operator)
    }

    @Test func everyFlippedByteIsRefused() {
        let bytes = F.signed(F.schedulerDocument())
        for index in bytes.indices {
            var altered = bytes
            altered[index] ^= 0x01
            let reason = refusal(altered)
            #expect(reason != nil, "byte \(index) flipped was accepted")
        }
        // A flipped byte inside the payload is caught by the signature.
        var altered = bytes
        altered[bytes.count - 100] ^= 0x01
        #expect(refusal(altered) == .badSignature)
    }

    @Test func eachNamedRefusal() {
        #expect(refusal(F.signed(F.schedulerDocument(version: 5)), board: F.board(applied: [.scheduler: 5])) == .notNewer)
        #expect(refusal(F.signed(F.schedulerDocument(version: 4)), board: F.board(applied: [.scheduler: 5])) == .notNewer)
        #expect(refusal(F.signed(F.schedulerDocument(device: "pole-0043"))) == .otherDevice)
        #expect(refusal(F.signed(F.schedulerDocument(expiresIn: 10)), board: F.board(now: F.now + 10)) == .expired)
        #expect(refusal(F.signed(F.schedulerDocument(), by: F.strangerKey)) == .unknownKey)
        #expect(refusal(F.signed(F.schedulerDocument(), by: F.operatorKey)) == .wrongRole)
        #expect(refusal(F.signed(F.operatorDocument(), by: F.schedulerKey)) == .wrongRole)
        #expect(refusal(F.signed(F.operatorDocument(hours: 13), by: F.operatorKey)) == .overrideTooLong)
        #expect(refusal(F.signed(F.operatorDocument(start: F.now - 7 * 3600), by: F.operatorKey)) == .expired)
        #expect(refusal(F.signed(F.schedulerDocument()), board: F.board(synchronised: false)) == .clockUnsynchronised)
        #expect(refusal([0xA0]) == .malformed)
    }

    @Test func versionsAreComparedPerRole() throws {
        // An override numbered 8 does not make the schedule numbered 7 a replay.
        _ = try verifier.verify(F.signed(F.schedulerDocument(version: 7)), board: F.board(applied: [.operator: 8]))
    }

    @Test func unknownKeysAreRefused() {
        var payload = DesiredStateCodec.encode(F.schedulerDocument()).map!
        payload["brightnessBoost"] = .bool(true)
        #expect(throws: DesiredStateRefusal.self) { try DesiredStateCodec.decode(CBORValue.map(payload).encoded()) }
    }

    @Test func hostileNumbersAreRefusedNotTrapped() {
        for (key, value) in [("version", CBORValue.unsigned(.max)), ("version", .int(0)), ("issuedAt", .int(-1)),
                             ("expiresAt", .float(.nan)), ("defaultLightState", .int(101)), ("device", .text(String(repeating: "x", count: 65)))] {
            var payload = DesiredStateCodec.encode(F.schedulerDocument()).map!
            payload[.text(key)] = value
            #expect(throws: DesiredStateRefusal.self, "\(key) = \(value)") { try DesiredStateCodec.decode(CBORValue.map(payload).encoded()) }
        }
    }

    /// Seeded mutations of valid documents (signed and bare payloads): every one is accepted or
    /// refused with a reason, none traps. A trap fails the test run.
    @Test func fuzzedDocumentsNeverTrap() {
        var random = SeededRandom(seed: 0xD0C5_1515)
        let documents = [F.signed(F.schedulerDocument()), F.signed(F.operatorDocument(), by: F.operatorKey)]
        let payloads = [DesiredStateCodec.encode(F.schedulerDocument()).encoded(), DesiredStateCodec.encode(F.operatorDocument()).encoded()]
        let dictionary: [[UInt8]] = [[0x1B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0x9F], [0xBF], [0xFB, 0x7F, 0xF8, 0, 0, 0, 0, 0, 0],
                                     [0x5A, 0xFF, 0xFF, 0xFF, 0xFF], [0xD8, 0x12], [0x3B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]]
        var outcomes: [String: Int] = [:]
        for _ in 0..<3000 {
            let mutated = random.mutate(random.pick(documents), maximumEdits: 4, dictionary: dictionary)
            outcomes[refusal(mutated)?.rawValue ?? "accepted", default: 0] += 1
            let payload = random.mutate(random.pick(payloads), maximumEdits: 4, dictionary: dictionary)
            _ = try? DesiredStateCodec.decode(payload)
        }
        #expect(outcomes["badSignature", default: 0] + outcomes["malformed", default: 0] > 2500)
    }
}
