// Reading the bytes of a compiled zone file: TZif versions 1 to 4 (RFC 8536).

extension ZoneInfo {
    /// Reads a zone from the bytes of its TZif file (e.g. `/usr/share/zoneinfo/Europe/Berlin`).
    ///
    /// `identifier` is kept as the zone's name and used in error messages. Throws a
    /// ``ZoneInfoError`` when the bytes are not a usable TZif file; never traps.
    public init(identifier: String, tzif bytes: [UInt8]) throws(ZoneInfoError) {
        var reader = TZifReader(identifier: identifier, bytes: bytes)
        let firstHeader = try reader.header()
        let block: TZifReader.DataBlock
        var rule: ZoneInfoPOSIXRule?
        if firstHeader.version == 1 {
            block = try reader.dataBlock(firstHeader, timeSize: 4)
        } else {
            // Version 2+: the 32-bit block is only for old readers; the 64-bit block and the
            // footer that follow it are the real data.
            try reader.skip(firstHeader.dataSize(timeSize: 4), what: "the version 1 data block")
            let secondHeader = try reader.header()
            block = try reader.dataBlock(secondHeader, timeSize: 8)
            rule = try reader.footer()
        }
        self.init(
            identifier: identifier, transitionTimes: block.transitionTimes,
            transitionTypeIndices: block.transitionTypeIndices, localTimeTypes: block.localTimeTypes,
            rule: rule)
    }
}

/// Reads a TZif file front to back; every read is bounds-checked.
private struct TZifReader {
    /// The counts of a TZif header (RFC 8536 §3.1).
    struct Header {
        /// 1, 2, 3, 4 (or later: read like 4).
        var version: Int
        var isUTCount: Int
        var isStandardCount: Int
        var leapCount: Int
        var transitionCount: Int
        var typeCount: Int
        var designationByteCount: Int

        /// Bytes of the data block that follows the header.
        func dataSize(timeSize: Int) -> Int {
            transitionCount * (timeSize + 1) + typeCount * 6 + designationByteCount
                + leapCount * (timeSize + 4) + isStandardCount + isUTCount
        }
    }

    /// What a data block says, in the form `ZoneInfo` keeps.
    struct DataBlock {
        var transitionTimes: [Int64]
        var transitionTypeIndices: [Int]
        var localTimeTypes: [ZoneInfo.LocalTimeType]
    }

    let identifier: String
    let bytes: [UInt8]
    var offset = 0

    init(identifier: String, bytes: [UInt8]) {
        self.identifier = identifier
        self.bytes = bytes
    }

    /// The next `count` bytes.
    mutating func take(_ count: Int, what: String) throws(ZoneInfoError) -> ArraySlice<UInt8> {
        guard count <= bytes.count - offset else {
            throw .truncated(identifier, needed: count, at: offset, size: bytes.count, what: what)
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func skip(_ count: Int, what: String) throws(ZoneInfoError) {
        _ = try take(count, what: what)
    }

    /// A big-endian signed integer of `size` bytes (4 or 8).
    mutating func integer(size: Int, what: String) throws(ZoneInfoError) -> Int64 {
        let slice = try take(size, what: what)
        let unsigned = slice.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return size == 8 ? Int64(bitPattern: unsigned) : Int64(Int32(truncatingIfNeeded: unsigned))
    }

    mutating func header() throws(ZoneInfoError) -> Header {
        let start = offset
        let magic = Array("TZif".utf8)
        let rest = bytes[offset...]
        if rest.count < 4 {
            // Cut off inside the magic, or before the second header: truncated. Empty: foreign.
            if start > 0 || (!rest.isEmpty && rest.elementsEqual(magic.prefix(rest.count))) {
                throw .truncated(identifier, needed: 44, at: start, size: bytes.count, what: "the header")
            }
            throw .notTZif(identifier)
        }
        guard rest.prefix(4).elementsEqual(magic) else {
            if start > 0 { throw .invalid(identifier, "the second (64-bit) header does not start with \"TZif\"") }
            throw .notTZif(identifier)
        }
        let all = try take(44, what: "the header")
        let versionByte = all[start + 4]
        let version: Int
        switch versionByte {
        case 0: version = 1
        case UInt8(ascii: "2")...UInt8(ascii: "9"): version = Int(versionByte - UInt8(ascii: "0"))
        default: throw .unsupportedVersion(identifier, byte: versionByte)
        }
        func count(_ index: Int) -> Int {
            let at = start + 20 + 4 * index
            return Int(all[at..<at + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        return Header(
            version: version, isUTCount: count(0), isStandardCount: count(1), leapCount: count(2),
            transitionCount: count(3), typeCount: count(4), designationByteCount: count(5))
    }

    mutating func dataBlock(_ header: Header, timeSize: Int) throws(ZoneInfoError) -> DataBlock {
        guard header.typeCount > 0 else { throw .invalid(identifier, "it declares no local time types") }
        guard header.designationByteCount > 0 else { throw .invalid(identifier, "it declares no abbreviations") }
        guard header.isUTCount == 0 || header.isUTCount == header.typeCount,
              header.isStandardCount == 0 || header.isStandardCount == header.typeCount
        else {
            throw .invalid(identifier, "its UT/local and standard/wall indicator counts "
                + "(\(header.isUTCount), \(header.isStandardCount)) are neither 0 nor the number of types (\(header.typeCount))")
        }
        // Check the whole block's size first: a garbage count then fails fast with one message.
        guard header.dataSize(timeSize: timeSize) <= bytes.count - offset else {
            throw .truncated(identifier, needed: header.dataSize(timeSize: timeSize), at: offset,
                             size: bytes.count, what: "the data block")
        }

        var times: [Int64] = []
        times.reserveCapacity(header.transitionCount)
        for _ in 0..<header.transitionCount {
            let time = try integer(size: timeSize, what: "a transition time")
            if let previous = times.last, time <= previous {
                throw .invalid(identifier, "its transition times are not in ascending order")
            }
            times.append(time)
        }
        var typeIndices: [Int] = []
        typeIndices.reserveCapacity(header.transitionCount)
        for byte in try take(header.transitionCount, what: "the transition types") {
            guard Int(byte) < header.typeCount else {
                throw .invalid(identifier, "a transition uses local time type \(byte) of \(header.typeCount)")
            }
            typeIndices.append(Int(byte))
        }
        var rawTypes: [(utOffset: Int64, isDaylight: Bool, designationIndex: Int)] = []
        for _ in 0..<header.typeCount {
            let utOffset = try integer(size: 4, what: "a local time type")
            // RFC 8536 §3.2: -2^31 is forbidden and offsets should lie within −25:59:59 … +25:59:59;
            // the schedule's DST handling relies on offsets of at most a day, so both are refused.
            guard (-89_999...93_599).contains(utOffset) else {
                throw .invalid(identifier, "a local time type has the UT offset \(utOffset) s, beyond ±26 hours")
            }
            let flags = try take(2, what: "a local time type")
            let designationIndex = Int(flags[flags.startIndex + 1])
            guard designationIndex < header.designationByteCount else {
                throw .invalid(identifier, "a local time type's abbreviation index \(designationIndex) "
                    + "is beyond the \(header.designationByteCount) abbreviation bytes")
            }
            rawTypes.append((utOffset, flags[flags.startIndex] != 0, designationIndex))
        }
        let designations = Array(try take(header.designationByteCount, what: "the abbreviations"))
        let types = rawTypes.map { raw in
            let tail = designations[raw.designationIndex...]
            let name = tail.prefix { $0 != 0 }
            return ZoneInfo.LocalTimeType(
                utOffsetSeconds: Int(raw.utOffset), isDaylightSavingTime: raw.isDaylight,
                abbreviation: String(decoding: name, as: UTF8.self))
        }

        var leapOccurrences: [Int64] = []
        var leapCorrections: [Int64] = []
        for _ in 0..<header.leapCount {
            let occurrence = try integer(size: timeSize, what: "a leap second record")
            let correction = try integer(size: 4, what: "a leap second record")
            if let previous = leapOccurrences.last, occurrence <= previous {
                throw .invalid(identifier, "its leap second records are not in ascending order")
            }
            leapOccurrences.append(occurrence)
            leapCorrections.append(correction)
        }
        // Standard/wall and UT/local indicators only matter for POSIX rules without a
        // transition time, which TZif footers never use.
        try skip(header.isStandardCount + header.isUTCount, what: "the indicators")

        if !leapOccurrences.isEmpty {
            // A `right/…` zone counts leap seconds in its time values; `Date` does not.
            var leap = -1
            for index in times.indices {
                while leap + 1 < leapOccurrences.count, leapOccurrences[leap + 1] <= times[index] { leap += 1 }
                if leap >= 0 {
                    let (posix, overflow) = times[index].subtractingReportingOverflow(leapCorrections[leap])
                    guard !overflow else { throw .invalid(identifier, "a transition time is out of range") }
                    times[index] = posix
                }
                if index > 0, times[index] <= times[index - 1] {
                    throw .invalid(identifier, "its transition times are not ascending once leap seconds are removed")
                }
            }
        }
        return DataBlock(transitionTimes: times, transitionTypeIndices: typeIndices, localTimeTypes: types)
    }

    /// The footer of a version 2+ file: `\n`, a POSIX TZ string (maybe empty), `\n`.
    mutating func footer() throws(ZoneInfoError) -> ZoneInfoPOSIXRule? {
        let opening = try take(1, what: "the footer")
        guard opening.first == UInt8(ascii: "\n") else {
            throw .invalid(identifier, "its footer does not start with a newline")
        }
        guard let closing = bytes[offset...].firstIndex(of: UInt8(ascii: "\n")) else {
            throw .truncated(identifier, needed: bytes.count - offset + 1, at: offset, size: bytes.count,
                             what: "the footer")
        }
        let text = String(decoding: bytes[offset..<closing], as: UTF8.self)
        offset = closing + 1
        if text.isEmpty { return nil }
        do {
            return try ZoneInfoPOSIXRule(parsing: text)
        } catch {
            let shown = text.count > 80 ? text.prefix(80) + "…" : text
            throw .unsupportedFooter(identifier, String(shown), error.reason)
        }
    }
}
