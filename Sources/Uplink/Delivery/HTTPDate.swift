import FoundationEssentials
import CivilTime

/// HTTP dates (RFC 9110 §5.6.7), as a receiver may send them in `Retry-After`.
///
/// All three forms a recipient must accept: IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, the
/// obsolete RFC 850 form `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`.
/// The weekday is not checked against the date. Written out because `FoundationEssentials` has no
/// date-format parser for them.
public enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The instant `text` names, or nil when it is none of the three forms.
    public static func parse(_ text: String) -> Date? {
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        // IMF-fixdate: "Sun," "06" "Nov" "1994" "08:49:37" "GMT"
        if words.count == 6, words[0].hasSuffix(","), words[5] == "GMT",
           let day = Int(words[1]), words[1].count == 2, let year = Int(words[3]), words[3].count == 4 {
            return date(year: year, month: words[2], day: day, time: words[4])
        }
        // RFC 850: "Sunday," "06-Nov-94" "08:49:37" "GMT" — a two-digit year is 1970–2069.
        if words.count == 4, words[0].hasSuffix(","), words[3] == "GMT" {
            let parts = words[1].split(separator: "-")
            guard parts.count == 3, parts[0].count == 2, parts[2].count == 2,
                  let day = Int(parts[0]), let shortYear = Int(parts[2]) else { return nil }
            return date(year: shortYear < 70 ? 2000 + shortYear : 1900 + shortYear, month: parts[1], day: day, time: words[2])
        }
        // asctime: "Sun" "Nov" "6" "08:49:37" "1994" (the day may be space-padded)
        if words.count == 5, let day = Int(words[2]), let year = Int(words[4]), words[4].count == 4 {
            return date(year: year, month: words[1], day: day, time: words[3])
        }
        return nil
    }

    private static func date(year: Int, month: Substring, day: Int, time: Substring) -> Date? {
        guard let monthIndex = months.firstIndex(of: String(month)),
              let date = LocalDate(year: year, month: monthIndex + 1, day: day) else { return nil }
        let clock = time.split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
              let hours = Int(clock[0]), let minutes = Int(clock[1]), let seconds = Int(clock[2]),
              (0...23).contains(hours), (0...59).contains(minutes), (0...60).contains(seconds) else { return nil }
        let secondsSinceEpoch = date.daysSinceEpoch * 86_400 + hours * 3600 + minutes * 60 + seconds
        return Date(timeIntervalSince1970: Double(secondsSinceEpoch))
    }
}
