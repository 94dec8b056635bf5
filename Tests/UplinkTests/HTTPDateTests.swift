import Foundation
import Testing
import Uplink

/// `HTTPDate`, the `Retry-After` date parser written without full Foundation.
@Suite("HTTP dates")
struct HTTPDateTests {
    @Test("HTTP dates in all three forms of RFC 9110 §5.6.7")
    func httpDates() throws {
        let expected = Date(timeIntervalSince1970: 784_111_777) // 1994-11-06T08:49:37Z
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == expected)
        #expect(HTTPDate.parse("Wed, 29 Feb 2028 23:59:59 GMT") == Date(timeIntervalSince1970: 1_835_481_599))
        for bad in ["", "soon", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                    "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:49 GMT", "Sun, 6 Nov 1994 08:49:37 GMT"] {
            #expect(HTTPDate.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("HTTP dates agree with Foundation's DateFormatter over many days")
    func httpDatesAgainstFoundation() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var instant = 0.0
        while instant < 4_102_444_800 { // 1970 … 2100
            let date = Date(timeIntervalSince1970: instant)
            #expect(HTTPDate.parse(formatter.string(from: date)) == date)
            instant += 86_400 * 13 + 3_607
        }
    }
}
