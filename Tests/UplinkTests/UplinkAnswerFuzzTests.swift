import Foundation
import Testing
import TestSupport
import Uplink

/// Seeded fuzzing of what a receiver (or anything in front of it) sends back to the board: the
/// `Retry-After` header, the backoff it feeds, and the acknowledgement body. Nothing may trap; every
/// wait stays within its documented cap (issue 11, "keep it found").
@Suite("Uplink answers under fuzzing")
struct UplinkAnswerFuzzTests {
    static let now = Date(timeIntervalSince1970: 1_759_341_600)
    static let batch = UplinkPacingTests.batch

    static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Sunday", "Friday", "", "Xyz"]
    static let months = ["Jan", "Feb", "Dec", "Nov", "jan", "Foo", ""]

    /// A `Retry-After` value: a well-formed HTTP date of any year, delay-seconds of any length, or noise.
    static func retryAfter(_ random: inout SeededRandom) -> String {
        func number(_ digits: Int) -> String { String((0..<digits).map { _ in random.pick(Array("0123456789")) }) }
        let day = random.pick(["00", "01", "31", "32", "99", "6", " 6", number(2)])
        let time = random.pick(["23:59:59", "00:00:00", "24:00:00", "23:59:60", "99:99:99", "1:2:3", "\(number(2)):\(number(2)):\(number(2))"])
        let year4 = random.pick(["0000", "0001", "1969", "1970", "2025", "2262", "9999", number(4)])
        switch random.next() % 7 {
        case 0: return "\(random.pick(weekdays)), \(day) \(random.pick(months)) \(year4) \(time) GMT"
        case 1: return "\(random.pick(weekdays)), \(day)-\(random.pick(months))-\(number(2)) \(time) GMT"
        case 2: return "\(random.pick(weekdays)) \(random.pick(months)) \(day) \(time) \(year4)"
        case 3: return number(Int(random.next() % 40))
        case 4: return random.pick(["-", "+", " ", "\t", ""]) + number(Int(random.next() % 25)) + random.pick(["", " ", ".5", "e9"])
        case 5: return String(decoding: random.mutate(Array("Fri, 31 Dec 9999 23:59:59 GMT".utf8), maximumEdits: 6), as: UTF8.self)
        default: return String(decoding: random.bytes(Int(random.next() % 40)), as: UTF8.self)
        }
    }

    @Test func retryAfterAndBackoffNeverTrapAndStayCapped() {
        var random = SeededRandom(seed: 0x5245_5452_59)
        let backoff = UplinkBackoff(initial: .seconds(2), maximum: .seconds(300))
        for _ in 0..<20_000 {
            let header = Self.retryAfter(&random)
            let now = random.next() % 4 == 0
                ? Date(timeIntervalSince1970: random.pick([-1e15, -62_135_596_800, 0, 253_402_300_799, 1e15, .greatestFiniteMagnitude]))
                : Self.now
            let parsed = UplinkBackoff.parseRetryAfter(header, now: now)
            if let parsed {
                #expect(parsed >= .zero && parsed <= UplinkBackoff.maximumRetryAfter, "\(header)")
            }
            let failures = Int(truncatingIfNeeded: random.next() % 200) - 50
            let wait = backoff.wait(afterFailures: failures, retryAfter: parsed, using: &random)
            #expect(wait >= .zero && wait <= UplinkBackoff.maximumRetryAfter, "\(header)")
        }
    }

    /// Bodies a receiver, a proxy or a captive portal might answer with.
    static func body(_ random: inout SeededRandom) -> [UInt8] {
        let hash = batch.hash.hexString
        let numbers = ["42", "-42", "4.2e1", "42.0", "42.5", "1e400", "-1e400", "18446744073709551615", "18446744073709551616",
                       "9223372036854775808", "NaN", "Infinity", "null", "\"42\"", "[]", "{}", "0", "-0"]
        let valid = #"{"status":"stored","device":"pole-7","kid":"21fe31dfa154a261","sequence":42,"hash":"\#(hash)","gap":{"expected":40,"received":42}}"#
        switch random.next() % 6 {
        case 0:
            return random.mutate(Array(valid.utf8), maximumEdits: 8, dictionary: numbers.map { Array($0.utf8) } + [Array("{".utf8), Array("[".utf8)])
        case 1:
            let fields = [
                #""status":\#(random.pick(["\"stored\"", "\"duplicate\"", "\"STORED\"", "1", "null", "[\"stored\"]"]))"#,
                #""sequence":\#(random.pick(numbers))"#,
                #""hash":\#(random.pick(["\"\(hash)\"", "\"\(hash.uppercased())\"", "\"\"", "42", "null"]))"#,
                #""gap":\#(random.pick(["{\"expected\":\(random.pick(numbers)),\"received\":\(random.pick(numbers))}", "null", "[]", "1"]))"#,
            ]
            return Array(("{" + fields.filter { _ in random.next() % 5 != 0 }.joined(separator: ",") + "}").utf8)
        case 2:
            let depth = Int(random.next() % 5000)
            return Array((String(repeating: random.pick(["[", "{\"a\":"]), count: depth) + "1").utf8)
        case 3:
            return Array(String(repeating: random.pick(numbers) + ",", count: Int(random.next() % 2000)).utf8)
        case 4:
            return Array(#"{"error":\#(random.pick(numbers + ["\"busy\""])),"message":\#(random.pick(numbers + ["\"x\""]))}"#.utf8)
        default:
            return random.bytes(Int(random.next() % 200))
        }
    }

    @Test func acknowledgementParsingNeverTrapsAndOnlyThisBatchCounts() {
        var random = SeededRandom(seed: 0x41434b)
        let hash = Self.batch.hash.hexString
        for _ in 0..<4_000 {
            let body = Self.body(&random)
            let status = random.pick([200, 200, 200, 201, 204, 301, 400, 401, 409, 413, 429, 500, 503, 599, 600, 0, -1, Int.max, Int.min])
            let header: String? = random.next() % 2 == 0 ? Self.retryAfter(&random) : nil
            let outcome = DeliveryOutcome.classify(status: status, body: body, retryAfterHeader: header, batch: Self.batch, now: Self.now)
            switch outcome {
            case .acknowledged:
                // Only a 200 whose JSON names sequence 42 and this hash is an acknowledgement.
                let text = String(decoding: body, as: UTF8.self).lowercased()
                #expect(status == 200 && text.contains(hash), "\(text)")
            case .retry(_, let retryAfter?):
                #expect(retryAfter >= .zero && retryAfter <= UplinkBackoff.maximumRetryAfter)
            case .retry, .rejected:
                break
            }
        }
    }
}
