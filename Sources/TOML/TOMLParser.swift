/// TOML 1.0 (https://toml.io/en/v1.0.0), parsed without ever trapping: every malformed byte
/// sequence is a `TOMLError` with its line and column. Integers outside 64 bits are errors;
/// nesting (dotted keys, headers, arrays, inline tables together) is bounded by
/// `TOML.maximumDepth`, so no input can exhaust the stack.
public enum TOML {
    /// The deepest a value may sit: keys of a path plus enclosing arrays and inline tables.
    public static let maximumDepth = 64

    /// Parses a document given as bytes (which must be UTF-8; a stray Latin-1 byte is
    /// reported with its line and column).
    public static func parse(_ bytes: [UInt8]) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(bytes: bytes)
        return try parser.parseDocument()
    }

    /// Parses a document given as text.
    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        try parse(Array(text.utf8))
    }
}

/// A table while its document is being read: sections and dotted keys may still add to it.
private final class TableBuilder {
    enum Slot {
        case table(TableBuilder)
        case tables([TableBuilder])
        case value(TOMLNode)
    }

    var keys: [String] = []
    var slots: [String: Slot] = [:]
    var position: TOMLPosition

    init(position: TOMLPosition) { self.position = position }

    func insert(_ key: String, _ slot: Slot) {
        if slots[key] == nil { keys.append(key) }
        slots[key] = slot
    }

    /// The finished table (recursion bounded by `TOML.maximumDepth`).
    func build() -> TOMLTable {
        var entries: [String: TOMLNode] = [:]
        for (key, slot) in slots {
            switch slot {
            case .table(let table):
                entries[key] = TOMLNode(value: .table(table.build()), position: table.position)
            case .tables(let tables):
                let elements = tables.map { TOMLNode(value: .table($0.build()), position: $0.position) }
                entries[key] = TOMLNode(value: .array(elements), position: tables.first?.position ?? position)
            case .value(let node):
                entries[key] = node
            }
        }
        return TOMLTable(keys: keys, entries: entries, position: position)
    }
}

struct TOMLParser {
    private let bytes: [UInt8]
    private var index = 0
    private var lineStarts: [Int] = [0]
    private var flags = TOMLFlags()
    private let root: TableBuilder
    /// Levels of the value being read: keys of its path plus enclosing arrays and inline tables.
    private var depth = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            lineStarts.append(offset + 1)
        }
        root = TableBuilder(position: TOMLPosition(line: 1, column: 1, offset: 0))
    }

    // MARK: Document

    mutating func parseDocument() throws(TOMLError) -> TOMLTable {
        try validateUTF8()
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw error("the file starts with a byte order mark (BOM); save it as UTF-8 without BOM", at: 0)
        }
        var header: [String] = []
        while true {
            skipWhitespace()
            guard let byte = peek() else { break }
            if let length = newlineLength(at: index) {
                index += length
                continue
            }
            if Self.isBareKeyByte(byte) || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                try keyValueRule(header: header)
                skipWhitespace()
            } else if byte == UInt8(ascii: "[") {
                flags.finalizePending()
                header = peek(1) == UInt8(ascii: "[") ? try arrayOfTablesRule() : try tableRule()
                skipWhitespace()
            } else if byte != UInt8(ascii: "#") {
                throw error("expected a key, a [table] header or a comment, found \(describe(byte))", at: index)
            }
            try skipComment()
            guard peek() != nil else { break }
            guard let length = newlineLength(at: index) else {
                throw error("expected the end of the line after a statement, found \(describe(peek()))", at: index)
            }
            index += length
        }
        return root.build()
    }

    // MARK: Statements

    private mutating func keyValueRule(header: [String]) throws(TOMLError) {
        let start = index
        depth = header.count
        defer { depth = 0 }
        let (key, node) = try keyValuePair()
        let name = Self.dotted(header + key)
        for count in 1..<key.count {
            let container = header + key.prefix(count)
            if flags.has(container, .explicitNest) {
                throw error("cannot add to table \(Self.dotted(container)) with dotted keys here: it is already defined above", at: start)
            }
            flags.addPending(container, .explicitNest)
        }
        let parentPath = header + key.dropLast()
        if flags.has(parentPath, .frozen) {
            throw error("cannot add \(name): an inline table or array is complete once written", at: start)
        }
        guard let stem = key.last, let parent = nest(parentPath, in: root, accessArrays: true, position: position(start)) else {
            throw error("cannot define \(name): a value is already there", at: start)
        }
        guard parent.slots[stem] == nil else {
            throw error("\(name) is defined twice", at: start)
        }
        if node.value.table != nil || node.value.array != nil {
            flags.set(header + key, .frozen, recursive: true)
        }
        parent.insert(stem, .value(node))
    }

    /// `[a.b]`: returns the header's key path.
    private mutating func tableRule() throws(TOMLError) -> [String] {
        let start = index
        index += 1
        skipWhitespace()
        let key = try keyPath()
        let name = Self.dotted(key)
        if flags.has(key, .explicitNest) || flags.has(key, .frozen) {
            throw error("table [\(name)] is defined twice (by a header or dotted keys above)", at: start)
        }
        flags.set(key, .explicitNest, recursive: false)
        guard let table = nest(key, in: root, accessArrays: true, position: position(start)) else {
            throw error("cannot define table [\(name)]: a value is already there", at: start)
        }
        table.position = position(start)
        guard peek() == UInt8(ascii: "]") else {
            throw error("expected ']' at the end of the table header, found \(describe(peek()))", at: index)
        }
        index += 1
        return key
    }

    /// `[[a.b]]`: returns the header's key path.
    private mutating func arrayOfTablesRule() throws(TOMLError) -> [String] {
        let start = index
        index += 2
        skipWhitespace()
        let key = try keyPath()
        let name = Self.dotted(key)
        if flags.has(key, .frozen) {
            throw error("cannot add to \(name) with [[\(name)]]: an inline table or array is complete once written", at: start)
        }
        flags.unsetAll(key)
        flags.set(key, .explicitNest, recursive: false)
        guard let stem = key.last, let parent = nest(key.dropLast(), in: root, accessArrays: true, position: position(start)) else {
            throw error("cannot define [[\(name)]]: a value is already there", at: start)
        }
        let element = TableBuilder(position: position(start))
        switch parent.slots[stem] {
        case nil: parent.insert(stem, .tables([element]))
        case .tables(let elements)?: parent.insert(stem, .tables(elements + [element]))
        default: throw error("cannot define [[\(name)]]: \(name) is already a table or a value, not an array of tables", at: start)
        }
        guard peek() == UInt8(ascii: "]"), peek(1) == UInt8(ascii: "]") else {
            throw error("expected ']]' at the end of the array-of-tables header, found \(describe(peek()))", at: index)
        }
        index += 2
        return key
    }

    /// The table at `path` below `table`, made where missing; nil where a value is in the way.
    private func nest(_ path: some Sequence<String>, in table: TableBuilder, accessArrays: Bool, position: TOMLPosition) -> TableBuilder? {
        var current = table
        for key in path {
            switch current.slots[key] {
            case nil:
                let made = TableBuilder(position: position)
                current.insert(key, .table(made))
                current = made
            case .table(let next)?:
                current = next
            case .tables(let elements)?:
                guard accessArrays, let last = elements.last else { return nil }
                current = last
            case .value?:
                return nil
            }
        }
        return current
    }

    // MARK: Keys

    private mutating func keyValuePair() throws(TOMLError) -> ([String], TOMLNode) {
        let key = try keyPath()
        guard peek() == UInt8(ascii: "=") else {
            throw error("expected '=' after the key \(Self.dotted(key)), found \(describe(peek()))", at: index)
        }
        index += 1
        skipWhitespace()
        depth += key.count
        defer { depth -= key.count }
        try checkDepth()
        return (key, try value())
    }

    private mutating func keyPath() throws(TOMLError) -> [String] {
        var parts = [try keyPart()]
        skipWhitespace()
        while peek() == UInt8(ascii: ".") {
            index += 1
            skipWhitespace()
            parts.append(try keyPart())
            skipWhitespace()
            if parts.count > TOML.maximumDepth {
                throw error("the key has more than \(TOML.maximumDepth) parts", at: index)
            }
        }
        return parts
    }

    private mutating func keyPart() throws(TOMLError) -> String {
        guard let byte = peek() else { throw error("expected a key, found the end of the file", at: index) }
        if Self.isBareKeyByte(byte) {
            let start = index
            while let next = peek(), Self.isBareKeyByte(next) { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        if byte == UInt8(ascii: "'") { return try literalString() }
        if byte == UInt8(ascii: "\"") { return try basicString() }
        throw error("expected a key (letters, digits, '_', '-', or a quoted key), found \(describe(byte))", at: index)
    }

    // MARK: Values

    private mutating func value() throws(TOMLError) -> TOMLNode {
        let start = index
        let at = position(start)
        let value = try scalarOrContainer()
        return TOMLNode(value: value, position: at, sourceRange: start..<index)
    }

    private mutating func scalarOrContainer() throws(TOMLError) -> TOMLValue {
        guard let byte = peek() else { throw error("expected a value, found the end of the file", at: index) }
        switch byte {
        case UInt8(ascii: "\""):
            return .string(startsWith("\"\"\"") ? try multilineBasicString() : try basicString())
        case UInt8(ascii: "'"):
            return .string(startsWith("'''") ? try multilineLiteralString() : try literalString())
        case UInt8(ascii: "t") where startsWith("true"):
            index += 4
            return .boolean(true)
        case UInt8(ascii: "f") where startsWith("false"):
            index += 5
            return .boolean(false)
        case UInt8(ascii: "["):
            return try array()
        case UInt8(ascii: "{"):
            return try inlineTable()
        default:
            if let dateTime = try dateTime() { return .dateTime(dateTime) }
            if let time = time(at: index) {
                index = time.end
                return .dateTime(TOMLDateTime(time: time.time))
            }
            if let number = try number() { return number }
            for (text, value) in [("inf", Double.infinity), ("+inf", .infinity), ("-inf", -.infinity),
                                  ("nan", .nan), ("+nan", .nan), ("-nan", -.nan)] where startsWith(text) {
                index += text.utf8.count
                return .float(value)
            }
            throw error("expected a value (a \"string\", number, true/false, date, [array] or {inline table}), found \(describe(byte))", at: index)
        }
    }

    private mutating func array() throws(TOMLError) -> TOMLValue {
        index += 1
        depth += 1
        defer { depth -= 1 }
        try checkDepth()
        var elements: [TOMLNode] = []
        try skipArraySpace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try value())
            try skipArraySpace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            guard peek() == UInt8(ascii: ",") else {
                throw error("expected ',' or ']' in the array, found \(describe(peek()))", at: index)
            }
            index += 1
            try skipArraySpace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
        }
    }

    private mutating func inlineTable() throws(TOMLError) -> TOMLValue {
        let table = TableBuilder(position: position(index))
        index += 1
        depth += 1
        defer { depth -= 1 }
        try checkDepth()
        var localFlags = TOMLFlags()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return .table(table.build())
        }
        while true {
            let start = index
            let (key, node) = try keyValuePair()
            let name = Self.dotted(key)
            if localFlags.has(key, .frozen) {
                throw error("cannot add \(name): an inline table or array is complete once written", at: start)
            }
            guard let stem = key.last, let parent = nest(key.dropLast(), in: table, accessArrays: false, position: position(start)) else {
                throw error("cannot define \(name): a value is already there", at: start)
            }
            guard parent.slots[stem] == nil else { throw error("\(name) is defined twice in the inline table", at: start) }
            parent.insert(stem, .value(node))
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return .table(table.build())
            }
            guard peek() == UInt8(ascii: ",") else {
                throw error("expected ',' or '}' in the inline table (it must end on the same line, without a trailing comma), found \(describe(peek()))", at: index)
            }
            if node.value.table != nil || node.value.array != nil {
                localFlags.set(key, .frozen, recursive: true)
            }
            index += 1
            skipWhitespace()
        }
    }

    // MARK: Strings

    /// `"…"` on one line.
    private mutating func basicString() throws(TOMLError) -> String {
        index += 1
        return try basicStringBody(multiline: false)
    }

    /// `"""…"""`; a newline right after the opening quotes is dropped.
    private mutating func multilineBasicString() throws(TOMLError) -> String {
        index += 3
        if let length = newlineLength(at: index) { index += length }
        return try basicStringBody(multiline: true) + closingQuotes(UInt8(ascii: "\""))
    }

    private mutating func basicStringBody(multiline: Bool) throws(TOMLError) -> String {
        var text: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("the string is not closed", at: index) }
            if byte == UInt8(ascii: "\"") {
                if !multiline {
                    index += 1
                    return String(decoding: text, as: UTF8.self)
                }
                if startsWith("\"\"\"") {
                    index += 3
                    return String(decoding: text, as: UTF8.self)
                }
                text.append(byte)
                index += 1
            } else if byte == UInt8(ascii: "\\") {
                try escape(multiline: multiline, into: &text)
            } else if multiline, let length = newlineLength(at: index) {
                text.append(UInt8(ascii: "\n"))
                index += length
            } else if Self.isControl(byte) {
                throw error("\(describe(byte)) is not allowed in a string; write it as an escape such as \\n or \\u0009", at: index)
            } else {
                text.append(byte)
                index += 1
            }
        }
    }

    private mutating func escape(multiline: Bool, into text: inout [UInt8]) throws(TOMLError) {
        let start = index
        let code = peek(1)
        index += 2
        if multiline, let code, code == UInt8(ascii: " ") || code == UInt8(ascii: "\t") || newlineLength(at: start + 1) != nil {
            // A line-ending backslash: drop it, the newline and the whitespace after it.
            if let length = newlineLength(at: start + 1) {
                index = start + 1 + length
            } else {
                skipWhitespace()
                guard peek() != nil else { return }
                guard let length = newlineLength(at: index) else {
                    throw error("a backslash before spaces must end the line (or write \\\\ for a backslash)", at: start)
                }
                index += length
            }
            skipWhitespaceAndNewlines()
            return
        }
        let simple: UInt8? = switch code {
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "\""): UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): UInt8(ascii: "\\")
        default: nil
        }
        if let simple {
            text.append(simple)
            return
        }
        let digits = code == UInt8(ascii: "u") ? 4 : code == UInt8(ascii: "U") ? 8 : 0
        guard digits > 0 else {
            throw error("\\\(code.map { describe($0) } ?? "") is not an escape; use \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX or \\UXXXXXXXX (\\\\ for a backslash)", at: start)
        }
        var scalar: UInt32 = 0
        for offset in 0..<digits {
            guard let digit = peek(offset).flatMap(Self.hexValue) else {
                throw error("\\\(digits == 4 ? "u" : "U") needs exactly \(digits) hexadecimal digits", at: start)
            }
            scalar = scalar << 4 | UInt32(digit)
        }
        index += digits
        guard let unicode = Unicode.Scalar(scalar) else {
            throw error("\\\(digits == 4 ? "u" : "U") escape is not a Unicode scalar value (a surrogate or above 10FFFF)", at: start)
        }
        text.append(contentsOf: String(Character(unicode)).utf8)
    }

    /// `'…'` on one line, no escapes.
    private mutating func literalString() throws(TOMLError) -> String {
        index += 1
        let start = index
        while true {
            guard let byte = peek() else { throw error("the string is not closed", at: index) }
            if byte == UInt8(ascii: "'") {
                index += 1
                return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
            }
            if Self.isControl(byte) {
                throw error("\(describe(byte)) is not allowed in a literal string", at: index)
            }
            index += 1
        }
    }

    /// `'''…'''`; a newline right after the opening quotes is dropped.
    private mutating func multilineLiteralString() throws(TOMLError) -> String {
        index += 3
        if let length = newlineLength(at: index) { index += length }
        var text: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("the string is not closed", at: index) }
            if startsWith("'''") {
                index += 3
                return String(decoding: text, as: UTF8.self) + closingQuotes(UInt8(ascii: "'"))
            }
            if let length = newlineLength(at: index) {
                text.append(UInt8(ascii: "\n"))
                index += length
            } else if Self.isControl(byte) {
                throw error("\(describe(byte)) is not allowed in a literal string", at: index)
            } else {
                text.append(byte)
                index += 1
            }
        }
    }

    /// Up to two quotes right after a multi-line string's closing three belong to the string.
    private mutating func closingQuotes(_ quote: UInt8) -> String {
        var extra = ""
        while extra.count < 2, peek() == quote {
            extra.append(Character(Unicode.Scalar(quote)))
            index += 1
        }
        return extra
    }

    // MARK: Numbers, dates and times

    /// An integer or float, or nil when none starts here.
    private mutating func number() throws(TOMLError) -> TOMLValue? {
        let start = index
        if peek() == UInt8(ascii: "0"), let prefix = peek(1) {
            let radix = prefix == UInt8(ascii: "x") ? 16 : prefix == UInt8(ascii: "o") ? 8 : prefix == UInt8(ascii: "b") ? 2 : 0
            if radix > 0, let end = digits(at: index + 2, radix: radix) {
                index = end
                return .integer(try integer(bytes[(start + 2)..<end], radix: radix, at: start))
            }
        }
        var cursor = index
        if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { cursor += 1 }
        guard let first = byte(at: cursor), Self.isDigit(first) else { return nil }
        cursor = first == UInt8(ascii: "0") ? cursor + 1 : (digits(at: cursor, radix: 10) ?? cursor + 1)
        var isFloat = false
        if byte(at: cursor) == UInt8(ascii: "."), let end = digits(at: cursor + 1, radix: 10) {
            cursor = end
            isFloat = true
        }
        if let e = byte(at: cursor), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            var exponent = cursor + 1
            if let sign = byte(at: exponent), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { exponent += 1 }
            if let end = digits(at: exponent, radix: 10) {
                cursor = end
                isFloat = true
            }
        }
        index = cursor
        let text = bytes[start..<cursor]
        guard isFloat else { return .integer(try integer(text, radix: 10, at: start)) }
        let plain = String(decoding: text.filter { $0 != UInt8(ascii: "_") && $0 != UInt8(ascii: "+") }, as: UTF8.self)
        guard let value = Double(plain) else { throw error("\(plain) is not a number", at: start) }
        return .float(value)
    }

    private func integer(_ text: ArraySlice<UInt8>, radix: Int, at start: Int) throws(TOMLError) -> Int64 {
        let plain = String(decoding: text.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        guard let value = Int64(plain, radix: radix) else {
            throw error("the integer is out of range (from -9223372036854775808 to 9223372036854775807)", at: start)
        }
        return value
    }

    /// The end of `digit (_? digit)*` in `radix` starting at `start`, or nil when no digit is there.
    private func digits(at start: Int, radix: Int) -> Int? {
        func isDigit(_ byte: UInt8?) -> Bool {
            guard let byte, let value = Self.hexValue(byte) else { return false }
            return Int(value) < radix
        }
        guard isDigit(byte(at: start)) else { return nil }
        var cursor = start + 1
        while true {
            if isDigit(byte(at: cursor)) {
                cursor += 1
            } else if byte(at: cursor) == UInt8(ascii: "_"), isDigit(byte(at: cursor + 1)) {
                cursor += 2
            } else {
                return cursor
            }
        }
    }

    /// `1979-05-27`, optionally with `T07:32:00` (or a space) and an offset; nil when no date starts here.
    private mutating func dateTime() throws(TOMLError) -> TOMLDateTime? {
        let start = index
        guard let year = fixedDigits(at: start, count: 4), byte(at: start + 4) == UInt8(ascii: "-"),
              let month = fixedDigits(at: start + 5, count: 2), (1...12).contains(month),
              byte(at: start + 7) == UInt8(ascii: "-"),
              let day = fixedDigits(at: start + 8, count: 2), (1...31).contains(day) else { return nil }
        var result = TOMLDateTime(date: .init(year: year, month: month, day: day))
        var end = start + 10
        if let separator = byte(at: end), separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " "),
           let time = time(at: end + 1) {
            result.time = time.time
            end = time.end
            if let zone = byte(at: end), zone == UInt8(ascii: "Z") || zone == UInt8(ascii: "z") {
                result.offsetMinutes = 0
                end += 1
            } else if let sign = byte(at: end), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"),
                      let hours = fixedDigits(at: end + 1, count: 2), hours <= 23, byte(at: end + 3) == UInt8(ascii: ":"),
                      let minutes = fixedDigits(at: end + 4, count: 2), minutes <= 59 {
                result.offsetMinutes = (sign == UInt8(ascii: "-") ? -1 : 1) * (hours * 60 + minutes)
                end += 6
            }
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard year >= 1, day <= days[month - 1] else {
            throw error("\(String(decoding: bytes[start..<(start + 10)], as: UTF8.self)) is not a date (years start at 0001)", at: start)
        }
        index = end
        return result
    }

    /// `07:32:00` with an optional fraction `.999999`, at `start`.
    private func time(at start: Int) -> (time: TOMLDateTime.Time, end: Int)? {
        guard let hour = fixedDigits(at: start, count: 2), hour <= 23, byte(at: start + 2) == UInt8(ascii: ":"),
              let minute = fixedDigits(at: start + 3, count: 2), minute <= 59, byte(at: start + 5) == UInt8(ascii: ":"),
              let second = fixedDigits(at: start + 6, count: 2), second <= 59 else { return nil }
        var end = start + 8
        var nanosecond = 0
        if byte(at: end) == UInt8(ascii: "."), let first = byte(at: end + 1), Self.isDigit(first) {
            end += 1
            var scale = 100_000_000
            while let digit = byte(at: end), Self.isDigit(digit) {
                nanosecond += Int(digit - UInt8(ascii: "0")) * scale
                scale /= 10
                end += 1
            }
        }
        return (TOMLDateTime.Time(hour: hour, minute: minute, second: second, nanosecond: nanosecond), end)
    }

    /// `count` decimal digits at `start` as a number (count ≤ 4, so no overflow).
    private func fixedDigits(at start: Int, count: Int) -> Int? {
        var value = 0
        for offset in 0..<count {
            guard let digit = byte(at: start + offset), Self.isDigit(digit) else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return value
    }

    // MARK: Whitespace and comments

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
    }

    private mutating func skipWhitespaceAndNewlines() {
        while true {
            skipWhitespace()
            guard let length = newlineLength(at: index) else { return }
            index += length
        }
    }

    /// A `#` comment up to (not including) the end of the line.
    private mutating func skipComment() throws(TOMLError) {
        guard peek() == UInt8(ascii: "#") else { return }
        index += 1
        while let byte = peek(), newlineLength(at: index) == nil {
            if Self.isControl(byte) { throw error("\(describe(byte)) is not allowed in a comment", at: index) }
            index += 1
        }
    }

    /// Whitespace, newlines and comments between array elements.
    private mutating func skipArraySpace() throws(TOMLError) {
        while true {
            let before = index
            skipWhitespaceAndNewlines()
            try skipComment()
            if index == before { return }
        }
    }

    // MARK: Bytes

    private func byte(at offset: Int) -> UInt8? {
        offset >= 0 && offset < bytes.count ? bytes[offset] : nil
    }

    private func peek(_ ahead: Int = 0) -> UInt8? { byte(at: index + ahead) }

    private func startsWith(_ text: String) -> Bool {
        var offset = index
        for expected in text.utf8 {
            guard byte(at: offset) == expected else { return false }
            offset += 1
        }
        return true
    }

    /// 1 for `\n`, 2 for `\r\n`, nil otherwise.
    private func newlineLength(at offset: Int) -> Int? {
        if byte(at: offset) == UInt8(ascii: "\n") { return 1 }
        if byte(at: offset) == UInt8(ascii: "\r"), byte(at: offset + 1) == UInt8(ascii: "\n") { return 2 }
        return nil
    }

    private mutating func checkDepth() throws(TOMLError) {
        if depth > TOML.maximumDepth {
            throw error("nested more than \(TOML.maximumDepth) levels deep (keys, arrays and inline tables together)", at: index)
        }
    }

    private static func isBareKeyByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    /// Control characters other than tab: never allowed raw in strings or comments.
    private static func isControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != 0x09) || byte == 0x7F }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func dotted(_ key: some Sequence<String>) -> String {
        key.map { part in
            !part.isEmpty && part.utf8.allSatisfy(isBareKeyByte) ? part : "\"\(part)\""
        }.joined(separator: ".")
    }

    private func describe(_ byte: UInt8?) -> String {
        guard let byte else { return "the end of the file" }
        if byte == UInt8(ascii: "\n") { return "the end of the line" }
        if byte == UInt8(ascii: "\r") { return "a carriage return without a line feed" }
        if byte < 0x20 || byte == 0x7F {
            let hex = String(byte, radix: 16, uppercase: true)
            return "the control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex)"
        }
        if byte >= 0x80 { return "a non-ASCII character" }
        return "'\(Character(Unicode.Scalar(byte)))'"
    }

    // MARK: Positions and errors

    func position(_ offset: Int) -> TOMLPosition {
        // The last line start at or before `offset`.
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = low + (high - low + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        let lineStart = lineStarts[low]
        let end = min(max(offset, lineStart), bytes.count)
        let column = bytes[lineStart..<end].reduce(1) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 }
        return TOMLPosition(line: low + 1, column: column, offset: offset)
    }

    private func error(_ message: String, at offset: Int) -> TOMLError {
        TOMLError(position: position(offset), message: message)
    }

    /// Refuses the first byte that is not part of well-formed UTF-8 (overlong forms, surrogates and
    /// code points above U+10FFFF included).
    private func validateUTF8() throws(TOMLError) {
        var offset = 0
        while offset < bytes.count {
            let lead = bytes[offset]
            let length: Int
            var second: ClosedRange<UInt8> = 0x80...0xBF
            switch lead {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; second = 0xA0...0xBF
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; second = 0x80...0x9F
            case 0xF0: length = 4; second = 0x90...0xBF
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; second = 0x80...0x8F
            default: length = 0
            }
            var valid = length > 0
            for continuation in 1..<max(length, 1) where valid {
                guard let next = byte(at: offset + continuation) else { valid = false; break }
                valid = (continuation == 1 ? second : 0x80...0xBF).contains(next)
            }
            guard valid else {
                let hex = String(lead, radix: 16, uppercase: true)
                throw error("the file is not UTF-8 text: byte 0x\(hex.count < 2 ? "0" : "")\(hex) here does not begin a UTF-8 character (Latin-1 or Windows-1252 text, such as 'é' typed in an old editor?); save the file as UTF-8", at: offset)
            }
            offset += length
        }
    }
}
