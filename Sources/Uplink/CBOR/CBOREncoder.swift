/// Writes `CBORValue`s with RFC 8949 §4.2.1 core deterministic encoding.
///
/// Integer arguments and lengths take the shortest form; floats the shortest of half, single
/// and double precision that keeps the value exactly (NaN is always written as `f9 7e00`);
/// lengths are always definite; map entries are sorted by the bytewise order of their
/// encoded keys. The same value therefore always gives the same bytes, which is what a
/// signature over a re-encoded structure needs.
public struct CBOREncoder: Sendable {
    /// What was written so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Appends one data item.
    public mutating func encode(_ value: CBORValue) {
        switch value {
        case .unsigned(let n):
            writeHead(major: 0, argument: n)
        case .negative(let n):
            writeHead(major: 1, argument: n)
        case .bytes(let b):
            writeHead(major: 2, argument: UInt64(b.count))
            bytes.append(contentsOf: b)
        case .text(let s):
            writeHead(major: 3, argument: UInt64(s.utf8.count))
            bytes.append(contentsOf: s.utf8)
        case .array(let items):
            writeHead(major: 4, argument: UInt64(items.count))
            for item in items { encode(item) }
        case .map(let entries):
            writeHead(major: 5, argument: UInt64(entries.count))
            let sorted = entries.map { (key: $0.key.encoded(), value: $0.value) }
                .sorted { $0.key.lexicographicallyPrecedes($1.key) }
            for entry in sorted {
                bytes.append(contentsOf: entry.key)
                encode(entry.value)
            }
        case .tagged(let tag, let item):
            writeHead(major: 6, argument: tag)
            encode(item)
        case .bool(let b):
            bytes.append(b ? 0xF5 : 0xF4)
        case .null:
            bytes.append(0xF6)
        case .undefined:
            bytes.append(0xF7)
        case .simple(let s):
            if s.rawValue < 24 {
                bytes.append(0xE0 | s.rawValue)
            } else {
                bytes.append(contentsOf: [0xF8, s.rawValue])
            }
        case .float(let d):
            writeFloat(d)
        }
    }

    /// Appends the head of an array of `count` items; the caller encodes the items next.
    public mutating func beginArray(count: Int) {
        writeHead(major: 4, argument: UInt64(count))
    }

    /// Appends the head of a map of `count` entries; the caller then appends each key and value,
    /// **in the deterministic order** (bytewise order of the encoded keys): `encode(.map(…))`
    /// sorts them itself, this is for a caller that knows the order already.
    public mutating func beginMap(count: Int) {
        writeHead(major: 5, argument: UInt64(count))
    }

    /// Makes room for `count` more bytes (one allocation for a large item instead of several).
    public mutating func reserveCapacity(_ count: Int) {
        bytes.reserveCapacity(bytes.count + count)
    }

    private mutating func writeHead(major: UInt8, argument: UInt64) {
        let m = major << 5
        switch argument {
        case 0..<24:
            bytes.append(m | UInt8(argument))
        case 24...0xFF:
            bytes.append(contentsOf: [m | 24, UInt8(argument)])
        case 0x100...0xFFFF:
            bytes.append(m | 25)
            appendBigEndian(UInt16(argument))
        case 0x1_0000...0xFFFF_FFFF:
            bytes.append(m | 26)
            appendBigEndian(UInt32(argument))
        default:
            bytes.append(m | 27)
            appendBigEndian(argument)
        }
    }

    private mutating func writeFloat(_ d: Double) {
        if d.isNaN {
            bytes.append(contentsOf: [0xF9, 0x7E, 0x00])
            return
        }
        let single = Float(d)
        guard Double(single).bitPattern == d.bitPattern else {
            bytes.append(0xFB)
            appendBigEndian(d.bitPattern)
            return
        }
        if let half = HalfPrecision.bits(exactly: single) {
            bytes.append(0xF9)
            appendBigEndian(half)
        } else {
            bytes.append(0xFA)
            appendBigEndian(single.bitPattern)
        }
    }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}

/// IEEE 754 binary16 conversion, written out so it works on every platform (no `Float16`).
enum HalfPrecision {
    /// The binary16 bits of `value`, or nil if binary16 cannot hold it exactly. `value` must not be NaN.
    static func bits(exactly value: Float) -> UInt16? {
        let sign = UInt16(value.sign == .minus ? 0x8000 : 0)
        if value.isInfinite { return sign | 0x7C00 }
        if value == 0 { return sign }
        let magnitude = abs(value)
        // Normal halves: exponent −14 … 15, 10 fraction bits.
        let exponent = Int(magnitude.exponent)
        if exponent > 15 { return nil }
        if exponent >= -14 {
            let fraction = magnitude.significandBitPattern  // 23 bits
            guard fraction & 0x1FFF == 0 else { return nil }
            return sign | UInt16(exponent + 15) << 10 | UInt16(fraction >> 13)
        }
        // Subnormal halves: multiples of 2^−24 below 2^−14.
        let scaled = magnitude * 16_777_216  // 2^24, exact for Float
        guard scaled >= 1, scaled == scaled.rounded(.towardZero), scaled < 1024 else { return nil }
        return sign | UInt16(scaled)
    }

    /// The value of binary16 `bits` (RFC 8949 Appendix D).
    static func value(_ bits: UInt16) -> Double {
        let exponent = Int(bits >> 10) & 0x1F
        let mantissa = Double(bits & 0x3FF)
        let magnitude: Double
        switch exponent {
        case 0: magnitude = mantissa * 0x1p-24
        case 31: magnitude = mantissa == 0 ? .infinity : .nan
        default: magnitude = (mantissa + 1024) * Double(sign: .plus, exponent: exponent - 25, significand: 1)
        }
        return bits & 0x8000 != 0 ? -magnitude : magnitude
    }
}
