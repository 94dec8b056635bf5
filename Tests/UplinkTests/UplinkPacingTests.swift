import Foundation
import Testing
import TestSupport
import Uplink

@Suite("Uplink pacing and answers")
struct UplinkPacingTests {
    @Test func backoffCeilingDoublesUpToTheMaximum() {
        let backoff = UplinkBackoff(initial: .seconds(2), maximum: .seconds(300))
        #expect(backoff.ceiling(afterFailures: 1) == .seconds(2))
        #expect(backoff.ceiling(afterFailures: 2) == .seconds(4))
        #expect(backoff.ceiling(afterFailures: 8) == .seconds(256))
        #expect(backoff.ceiling(afterFailures: 9) == .seconds(300))
        #expect(backoff.ceiling(afterFailures: 1000) == .seconds(300))
    }

    @Test func fullJitterStaysUnderTheCeilingAndSpreads() {
        let backoff = UplinkBackoff(initial: .seconds(2), maximum: .seconds(300))
        var random = SystemRandomNumberGenerator()
        let waits = (0..<500).map { _ in backoff.wait(afterFailures: 5, retryAfter: nil, using: &random) }
        #expect(waits.allSatisfy { $0 >= .zero && $0 <= .seconds(32) })
        #expect(waits.min()! < .seconds(8))
        #expect(waits.max()! > .seconds(24))
    }

    @Test func retryAfterIsAFloorCappedAtAnHour() {
        let backoff = UplinkBackoff(initial: .seconds(2), maximum: .seconds(300))
        var random = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            #expect(backoff.wait(afterFailures: 1, retryAfter: .seconds(120), using: &random) == .seconds(120))
        }
        #expect(backoff.wait(afterFailures: 1, retryAfter: .seconds(86_400), using: &random) == .seconds(3600))
    }

    @Test func retryAfterParsesSecondsAndHTTPDates() {
        let now = Date(timeIntervalSince1970: 1_445_412_480) // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(UplinkBackoff.parseRetryAfter("120", now: now) == .seconds(120))
        #expect(UplinkBackoff.parseRetryAfter(" 0 ", now: now) == .seconds(0))
        #expect(UplinkBackoff.parseRetryAfter("Wed, 21 Oct 2015 07:30:00 GMT", now: now) == .seconds(120))
        #expect(UplinkBackoff.parseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now: now) == .zero)
        #expect(UplinkBackoff.parseRetryAfter("-5", now: now) == nil)
        #expect(UplinkBackoff.parseRetryAfter("soon", now: now) == nil)
    }

    /// Issue 11 #2: a far-future date (or a huge number) in `Retry-After` trapped lampd, and the
    /// batch resent after the restart trapped it again.
    @Test func aRetryAfterFarInTheFutureIsCappedAtAnHourNotATrap() {
        let now = Date(timeIntervalSince1970: 1_445_412_480)
        for header in ["Fri, 31 Dec 9999 23:59:59 GMT", "Fri Dec 31 23:59:59 9999", "Friday, 31-Dec-69 23:59:59 GMT",
                       "99999999999999999999999", "9223372036854775807", "9300000000"] {
            #expect(classify(503, "", retryAfter: header) == .retry(reason: "receiver busy (HTTP 503)", retryAfter: .seconds(3600)), "\(header)")
            #expect(UplinkBackoff.parseRetryAfter(header, now: now) == UplinkBackoff.maximumRetryAfter, "\(header)")
        }
        // Far in the past: no wait beyond the ordinary backoff.
        #expect(UplinkBackoff.parseRetryAfter("Mon Jan  1 00:00:00 0001", now: now) == .zero)
        #expect(UplinkBackoff.parseRetryAfter("Sat, 01 Jan 0000 00:00:00 GMT", now: now) == .zero)
        // Only digits are delay-seconds (RFC 9110 §10.2.3).
        for header in ["+5", "5.5", "0x10", "1e3", "", " "] {
            #expect(UplinkBackoff.parseRetryAfter(header, now: now) == nil, "\(header)")
        }
    }

    @Test func backoffFromAnyConfigurationStaysWithinItsCeiling() {
        var random = SeededRandom(seed: 7)
        for (initial, maximum) in [(Duration.seconds(Int64.max), Duration.seconds(Int64.max)), (.zero, .zero),
                                   (.seconds(-5), .seconds(-1)), (.seconds(1), .seconds(Int64.max))] {
            let backoff = UplinkBackoff(initial: initial, maximum: maximum)
            for failures in [Int.min, -1, 0, 1, 2, 63, 64, 1000, Int.max] {
                let ceiling = backoff.ceiling(afterFailures: failures)
                #expect(ceiling >= .zero && ceiling <= UplinkBackoff.longestCeiling)
                let wait = backoff.wait(afterFailures: failures, retryAfter: .seconds(Int64.max), using: &random)
                #expect(wait >= .zero && wait <= max(ceiling, UplinkBackoff.maximumRetryAfter))
            }
        }
    }

    @Test func dailyBudgetRestartsAtUTCMidnight() {
        var budget = DailyByteBudget()
        let evening = Date(timeIntervalSince1970: 1_764_543_000) // 2025-11-30T22:50:00Z, 70 min before midnight
        budget.add(9_000, at: evening)
        budget.add(2_000, at: evening.addingTimeInterval(60))
        #expect(budget.used(at: evening) == 11_000)
        #expect(budget.isExhausted(cap: 10_000, at: evening))
        #expect(!budget.isExhausted(cap: nil, at: evening))
        let nextDay = evening.addingTimeInterval(4201)
        #expect(budget.used(at: nextDay) == 0)
        #expect(!budget.isExhausted(cap: 10_000, at: nextDay))
        #expect(DailyByteBudget.untilNextDay(from: evening) == .seconds(4200))
        budget.add(5, at: nextDay)
        #expect(budget.day == "2025-12-01" && budget.bytes == 5)
    }

    static let batch = SignedBatch(bytes: [0xd2], sequence: 42, firstSpoolSequence: 1, lastSpoolSequence: 9,
                                   hash: [UInt8](repeating: 0xab, count: 32))
    static let hashHex = String(repeating: "ab", count: 32)

    func classify(_ status: Int, _ body: String, retryAfter: String? = nil) -> DeliveryOutcome {
        DeliveryOutcome.classify(status: status, body: Array(body.utf8), retryAfterHeader: retryAfter, batch: Self.batch, now: Date())
    }

    @Test func onlyAnAckOfThisExactBatchCounts() {
        #expect(classify(200, #"{"status":"stored","sequence":42,"hash":"\#(Self.hashHex)"}"#) == .acknowledged(duplicate: false, gap: nil))
        #expect(classify(200, #"{"status":"duplicate","sequence":42,"hash":"\#(Self.hashHex.uppercased())"}"#) == .acknowledged(duplicate: true, gap: nil))
        guard case .acknowledged(_, let gap?) = classify(200, #"{"status":"stored","sequence":42,"hash":"\#(Self.hashHex)","gap":{"expected":40,"received":42}}"#) else {
            Issue.record("gap not reported"); return
        }
        #expect(gap.contains("40") && gap.contains("42"))
        for body in [#"{"status":"stored","sequence":41,"hash":"\#(Self.hashHex)"}"#,
                     #"{"status":"stored","sequence":42,"hash":"00"}"#,
                     #"{"status":"maybe","sequence":42,"hash":"\#(Self.hashHex)"}"#,
                     "OK", "", "<html>proxy login</html>", #"{"status":"stored","sequence":42"#] {
            guard case .retry = classify(200, body) else { Issue.record("accepted \(body)"); continue }
        }
    }

    /// One acknowledgement type for both ends: what a receiver encodes is what the board counts as
    /// delivered, in the wire format of docs/uplink.md §6.
    @Test func theAcknowledgementAReceiverEncodesIsOneTheBoardAccepts() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var ack = BatchAcknowledgement(status: .stored, device: "pole-7", kid: "21fe31dfa154a261", sequence: 42, hash: Self.hashHex)
        let plain = String(decoding: try encoder.encode(ack), as: UTF8.self)
        #expect(plain == #"{"device":"pole-7","hash":"\#(Self.hashHex)","kid":"21fe31dfa154a261","sequence":42,"status":"stored"}"#)
        #expect(classify(200, plain) == .acknowledged(duplicate: false, gap: nil))
        ack.status = .duplicate
        ack.gap = BatchAcknowledgement.Gap(expected: 40, received: 42)
        let withGap = String(decoding: try encoder.encode(ack), as: UTF8.self)
        #expect(withGap.contains(#""gap":{"expected":40,"received":42}"#) && withGap.contains(#""status":"duplicate""#))
        #expect(classify(200, withGap) == .acknowledged(duplicate: true, gap: "receiver expected sequence 40, got 42"))
        let refusal = String(decoding: try encoder.encode(BatchRefusal(error: "unknown-key", message: "enrol it")), as: UTF8.self)
        #expect(refusal == #"{"error":"unknown-key","message":"enrol it"}"#)
        #expect(classify(401, refusal) == .rejected(status: 401, code: "unknown-key", message: "enrol it"))
    }

    @Test func busyAndServerErrorsRetryRefusalsAreRejections() {
        #expect(classify(503, "", retryAfter: "7") == .retry(reason: "receiver busy (HTTP 503)", retryAfter: .seconds(7)))
        guard case .retry(_, nil) = classify(500, #"{"error":"db"}"#) else { Issue.record("500"); return }
        #expect(classify(403, #"{"error":"bad-signature","message":"signature does not match"}"#)
            == .rejected(status: 403, code: "bad-signature", message: "signature does not match"))
        guard case .rejected(413, "http-413", _) = classify(413, "too big") else { Issue.record("413"); return }
        guard case .retry = classify(302, "") else { Issue.record("302"); return }
    }
}
