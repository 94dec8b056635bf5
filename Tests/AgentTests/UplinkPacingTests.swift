import Foundation
import Testing
import Uplink
@testable import Agent

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

    @Test func busyAndServerErrorsRetryRefusalsAreRejections() {
        #expect(classify(503, "", retryAfter: "7") == .retry(reason: "receiver busy (HTTP 503)", retryAfter: .seconds(7)))
        guard case .retry(_, nil) = classify(500, #"{"error":"db"}"#) else { Issue.record("500"); return }
        #expect(classify(403, #"{"error":"bad-signature","message":"signature does not match"}"#)
            == .rejected(status: 403, code: "bad-signature", message: "signature does not match"))
        guard case .rejected(413, "http-413", _) = classify(413, "too big") else { Issue.record("413"); return }
        guard case .retry = classify(302, "") else { Issue.record("302"); return }
    }
}
