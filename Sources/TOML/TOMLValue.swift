/// A place in a TOML document: 1-based line and column (the column counts Unicode scalars,
/// as an editor does), and the 0-based byte offset.
public struct TOMLPosition: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var offset: Int

    public init(line: Int, column: Int, offset: Int) {
        self.line = line
        self.column = column
        self.offset = offset
    }

    public var description: String { "\(line):\(column)" }
}

/// Why a document is not TOML, and where.
public struct TOMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var position: TOMLPosition
    public var message: String

    public init(position: TOMLPosition, message: String) {
        self.position = position
        self.message = message
    }

    public var description: String { "\(position): \(message)" }
}

/// A TOML date, time or date-time: an offset date-time has all three parts, a local
/// date-time no offset, a local date only `date`, a local time only `time`.
public struct TOMLDateTime: Sendable, Hashable, CustomStringConvertible {
    public struct Date: Sendable, Hashable {
        public var year: Int
        public var month: Int
        public var day: Int
    }

    public struct Time: Sendable, Hashable {
        public var hour: Int
        public var minute: Int
        public var second: Int
        /// The fraction of the second (digits beyond nine are dropped).
        public var nanosecond: Int
    }

    public var date: Date?
    public var time: Time?
    /// Minutes east of UTC (`Z` is 0); nil for a local date-time, date or time.
    public var offsetMinutes: Int?

    /// RFC 3339 text; the fraction in microseconds when there is one, the offset as `+HH:MM`.
    public var description: String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var text = ""
        if let date {
            let year = String(date.year)
            text += String(repeating: "0", count: max(0, 4 - year.count)) + year + "-\(two(date.month))-\(two(date.day))"
        }
        if let time {
            if date != nil { text += "T" }
            text += "\(two(time.hour)):\(two(time.minute)):\(two(time.second))"
            let micro = time.nanosecond / 1_000
            if micro != 0 {
                let digits = String(micro)
                text += "." + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
            }
        }
        if let offsetMinutes {
            let magnitude = offsetMinutes.magnitude
            text += (offsetMinutes < 0 ? "-" : "+") + "\(two(Int(magnitude / 60))):\(two(Int(magnitude % 60)))"
        }
        return text
    }
}

/// A TOML value.
public indirect enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case dateTime(TOMLDateTime)
    /// An array, or an array of tables (`[[name]]` sections): elements are then tables.
    case array([TOMLNode])
    /// A table: `[name]` section, dotted keys or an inline table.
    case table(TOMLTable)

    public var string: String? { if case .string(let v) = self { v } else { nil } }
    public var integer: Int64? { if case .integer(let v) = self { v } else { nil } }
    public var float: Double? { if case .float(let v) = self { v } else { nil } }
    public var boolean: Bool? { if case .boolean(let v) = self { v } else { nil } }
    public var dateTime: TOMLDateTime? { if case .dateTime(let v) = self { v } else { nil } }
    public var array: [TOMLNode]? { if case .array(let v) = self { v } else { nil } }
    public var table: TOMLTable? { if case .table(let v) = self { v } else { nil } }
}

/// A value and where it is written.
public struct TOMLNode: Sendable, Equatable {
    public var value: TOMLValue
    /// Where the value starts (for a table: its header, or the key that created it).
    public var position: TOMLPosition
    /// The bytes of the value's text in the document, for values written after `=`
    /// (nil for tables made of sections or dotted keys).
    public var sourceRange: Range<Int>?

    public init(value: TOMLValue, position: TOMLPosition, sourceRange: Range<Int>? = nil) {
        self.value = value
        self.position = position
        self.sourceRange = sourceRange
    }
}

/// A TOML table: keys in the order they are written.
public struct TOMLTable: Sendable, Equatable {
    /// The keys, in document order.
    public private(set) var keys: [String]
    private var entries: [String: TOMLNode]
    /// Where the table is defined (its header, the key that created it, or `{`); 1:1 for the root.
    public var position: TOMLPosition

    public init(keys: [String] = [], entries: [String: TOMLNode] = [:], position: TOMLPosition) {
        self.keys = keys.filter { entries[$0] != nil }
        self.entries = entries
        self.position = position
    }

    public subscript(key: String) -> TOMLNode? { entries[key] }

    public var isEmpty: Bool { keys.isEmpty }
    public var count: Int { keys.count }
}
