import Telemetry

/// How a desired-state version travels as the value of the board's `downlink.applied` /
/// `downlink.refused` events (docs/downlink.md §7), written once for the board and the city.
///
/// SenML numbers are doubles: exact up to 2^53. A version up to 2^53 is the number (what every
/// board has sent so far); a larger one is its decimal text (SenML `vs`), so the city never
/// records an outcome against a neighbouring version.
public enum DesiredStateVersionValue {
    /// The largest version sent as a number.
    public static let largestExactNumber: UInt64 = 1 << 53

    /// The event value for `version`.
    public static func value(_ version: UInt64) -> ReadingValue {
        version <= largestExactNumber ? .number(Double(version)) : .string(String(version))
    }

    /// The version an event value names, or nil when it names none (absent, not a whole number
    /// 1 … 2^63 − 1, a number above 2^53 that cannot be exact, text that is not plain digits).
    public static func version(_ value: ReadingValue?) -> UInt64? {
        switch value {
        case .number(let number)?:
            guard number >= 1, number <= Double(largestExactNumber), let version = UInt64(exactly: number) else { return nil }
            return version
        case .string(let text)?:
            guard (1...19).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                  let version = UInt64(text), (1...UInt64(Int64.max)).contains(version) else { return nil }
            return version
        default:
            return nil
        }
    }
}
