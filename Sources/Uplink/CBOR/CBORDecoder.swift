/// Reads exactly one CBOR data item from bytes that may come from anyone (RFC 8949).
///
/// Strict by design, because its input is a batch from the network or a file on disk:
/// - rejects anything not well-formed (RFC 8949 §3, Appendix F): truncated items, reserved
///   additional information 28–30, two-byte simple values below 32;
/// - rejects what is well-formed but not valid for lampd (§5.3): invalid UTF-8 in text strings,
///   duplicate map keys;
/// - rejects indefinite-length items: lampd never writes them, and RFC 9052 §9 forbids them in
///   what is signed;
/// - rejects bytes after the item, and nesting deeper than `maximumDepth`;
/// - checks every length against the bytes left *before* allocating, so a hostile length of
///   2^64 costs nothing.
///
/// It accepts integer arguments and floats that are longer than needed (they are well-formed;
/// a signature covers the bytes as sent, not a re-encoding). Unknown tags are kept as
/// `.tagged`, unassigned simple values as `.simple`.
public struct CBORDecoder: Sendable {
    /// Arrays, maps and tags may nest this deep (the top-level item is depth 1).
    public var maximumDepth: Int
    /// Arrays may hold at most this many items and maps this many entries: each decoded item costs
    /// tens of bytes of memory for one byte of input, so a caller that knows its format bounds it.
    public var maximumLength: Int

    public init(maximumDepth: Int = 32, maximumLength: Int = .max) {
        self.maximumDepth = maximumDepth
        self.maximumLength = maximumLength
    }

    /// Decodes `bytes`, which must hold exactly one data item.
    public func decode(_ bytes: some Collection<UInt8>) throws(CBORError) -> CBORValue {
        var reader = Reader(bytes: Array(bytes), maximumDepth: maximumDepth, maximumLength: maximumLength)
        let value = try reader.item(depth: 1)
        guard reader.offset == reader.bytes.count else {
            throw CBORError(
                .trailingBytes, at: reader.offset,
                "\(reader.bytes.count - reader.offset) byte(s) after the end of the data item")
        }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        let maximumDepth: Int
        let maximumLength: Int
        var offset = 0

        init(bytes: [UInt8], maximumDepth: Int, maximumLength: Int) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
            self.maximumLength = maximumLength
        }

        /// Checks an array's or map's length against `maximumLength`.
        func checkCount(_ count: Int, headOffset: Int, what: String) throws(CBORError) {
            guard count <= maximumLength else {
                throw CBORError(.lengthExceedsInput, at: headOffset, "\(what) of length \(count) is longer than the \(maximumLength) this format allows")
            }
        }

        var remaining: Int { bytes.count - offset }

        mutating func byte() throws(CBORError) -> UInt8 {
            guard offset < bytes.count else {
                throw CBORError(.truncated, at: offset, "input ends where another byte was expected")
            }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func bigEndian(_ count: Int) throws(CBORError) -> UInt64 {
            guard remaining >= count else {
                throw CBORError(.truncated, at: offset, "input ends inside a \(count)-byte argument")
            }
            var value: UInt64 = 0
            for i in 0..<count { value = value << 8 | UInt64(bytes[offset + i]) }
            offset += count
            return value
        }

        /// Reads the argument for `info` (additional information 0–27).
        mutating func argument(_ info: UInt8, headOffset: Int) throws(CBORError) -> UInt64 {
            switch info {
            case 0..<24: return UInt64(info)
            case 24: return try bigEndian(1)
            case 25: return try bigEndian(2)
            case 26: return try bigEndian(4)
            case 27: return try bigEndian(8)
            case 31:
                throw CBORError(
                    .indefiniteLength, at: headOffset,
                    "indefinite-length item: only definite lengths are accepted")
            default:
                throw CBORError(
                    .reservedAdditionalInformation, at: headOffset,
                    "additional information \(info) is reserved (byte 0x\(hex(bytes[headOffset])))")
            }
        }

        /// Checks that `length` items of at least `minimumSize` bytes each can still follow.
        func checkLength(_ length: UInt64, minimumSize: UInt64, headOffset: Int, what: String) throws(CBORError) -> Int {
            let (needed, overflow) = length.multipliedReportingOverflow(by: minimumSize)
            guard !overflow, needed <= UInt64(remaining) else {
                throw CBORError(
                    .lengthExceedsInput, at: headOffset,
                    "\(what) of length \(length) does not fit in the \(remaining) byte(s) left")
            }
            return Int(length)
        }

        mutating func item(depth: Int) throws(CBORError) -> CBORValue {
            let headOffset = offset
            let initial = try byte()
            let major = initial >> 5
            let info = initial & 0x1F

            if major == 7 {
                return try majorSeven(info, headOffset: headOffset)
            }
            let argument = try argument(info, headOffset: headOffset)
            switch major {
            case 0:
                return .unsigned(argument)
            case 1:
                return .negative(argument)
            case 2:
                let count = try checkLength(argument, minimumSize: 1, headOffset: headOffset, what: "byte string")
                defer { offset += count }
                return .bytes(Array(bytes[offset..<offset + count]))
            case 3:
                let count = try checkLength(argument, minimumSize: 1, headOffset: headOffset, what: "text string")
                let slice = bytes[offset..<offset + count]
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw CBORError(.invalidUTF8, at: headOffset, "text string is not valid UTF-8")
                }
                offset += count
                return .text(text)
            case 4:
                let count = try checkLength(argument, minimumSize: 1, headOffset: headOffset, what: "array")
                try checkCount(count, headOffset: headOffset, what: "array")
                try checkDepth(depth, headOffset: headOffset)
                var items: [CBORValue] = []
                items.reserveCapacity(count)
                for _ in 0..<count { items.append(try item(depth: depth + 1)) }
                return .array(items)
            case 5:
                let count = try checkLength(argument, minimumSize: 2, headOffset: headOffset, what: "map")
                try checkCount(count, headOffset: headOffset, what: "map")
                try checkDepth(depth, headOffset: headOffset)
                var entries: [CBORValue: CBORValue] = [:]
                entries.reserveCapacity(count)
                for _ in 0..<count {
                    let keyOffset = offset
                    let key = try item(depth: depth + 1)
                    let value = try item(depth: depth + 1)
                    guard entries.updateValue(value, forKey: key) == nil else {
                        throw CBORError(.duplicateMapKey, at: keyOffset, "map key \(key) appears twice")
                    }
                }
                return .map(entries)
            default:  // 6
                try checkDepth(depth, headOffset: headOffset)
                return .tagged(argument, try item(depth: depth + 1))
            }
        }

        func checkDepth(_ depth: Int, headOffset: Int) throws(CBORError) {
            guard depth < maximumDepth else {
                throw CBORError(
                    .nestingTooDeep, at: headOffset, "arrays, maps and tags nest deeper than \(maximumDepth) levels")
            }
        }

        mutating func majorSeven(_ info: UInt8, headOffset: Int) throws(CBORError) -> CBORValue {
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            case 23: return .undefined
            case 0..<20: return .simple(CBORSimpleValue(info)!)
            case 24:
                let value = try byte()
                guard let simple = CBORSimpleValue(value), value >= 32 else {
                    throw CBORError(
                        .invalidSimpleValue, at: headOffset,
                        "simple value \(value) in two bytes (only 32–255 may use the two-byte form)")
                }
                return .simple(simple)
            case 25: return .float(HalfPrecision.value(UInt16(try bigEndian(2))))
            case 26: return .float(Double(Float(bitPattern: UInt32(try bigEndian(4)))))
            case 27: return .float(Double(bitPattern: try bigEndian(8)))
            case 31:
                throw CBORError(.indefiniteLength, at: headOffset, "\"break\" (0xff) outside an indefinite-length item")
            default:
                throw CBORError(
                    .reservedAdditionalInformation, at: headOffset,
                    "additional information \(info) in major type 7 is reserved")
            }
        }
    }
}

func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}

extension Sequence<UInt8> {
    /// Lower-case hex digits, no separators (kids, batch hashes, the acknowledgement's `hash`).
    public var hexString: String { map(hex).joined() }
}

extension Array<UInt8> {
    /// Bytes from hex digits (either case); nil unless `hexString` is an even number of hex digits.
    public init?(hexString: String) {
        let digits = Array(hexString.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self = bytes
    }
}
