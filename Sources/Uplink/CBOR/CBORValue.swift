/// One CBOR data item (RFC 8949): what `CBOREncoder` writes and `CBORDecoder` reads.
///
/// Integers keep CBOR's full range: `.unsigned(n)` is n (0 … 2^64−1), `.negative(n)` is −1 − n
/// (−1 … −2^64). Maps are dictionaries: their order on the wire is decided by the encoder
/// (RFC 8949 §4.2.1 bytewise order of the encoded keys), and decoding rejects duplicate keys.
/// Floating-point values are one case, `.float(Double)`, whatever width they had on the wire;
/// the encoder picks the shortest width that keeps the value (half, single or double).
public enum CBORValue: Hashable, Sendable {
    /// Major type 0: an unsigned integer.
    case unsigned(UInt64)
    /// Major type 1: the negative integer −1 − n.
    case negative(UInt64)
    /// Major type 2: a byte string.
    case bytes([UInt8])
    /// Major type 3: a UTF-8 text string.
    case text(String)
    /// Major type 4: an array.
    case array([CBORValue])
    /// Major type 5: a map.
    case map([CBORValue: CBORValue])
    /// Major type 6: a tagged item, e.g. tag 18 for COSE_Sign1, tag 1 for epoch time.
    indirect case tagged(UInt64, CBORValue)
    /// Simple values 20 and 21.
    case bool(Bool)
    /// Simple value 22.
    case null
    /// Simple value 23.
    case undefined
    /// Any other simple value (0–19, 32–255): unassigned, kept so that decoding never loses it.
    case simple(CBORSimpleValue)
    /// Major type 7 floats (half, single or double precision on the wire).
    case float(Double)

    /// A signed integer in the `Int64` range, as `.unsigned` or `.negative`.
    public static func int(_ value: Int64) -> CBORValue {
        value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-(value + 1)))
    }

    /// The value as `Int64`, if it is an integer that fits.
    public var int64: Int64? {
        switch self {
        case .unsigned(let n): return n <= UInt64(Int64.max) ? Int64(n) : nil
        case .negative(let n): return n <= UInt64(Int64.max) ? -Int64(n) - 1 : nil
        default: return nil
        }
    }

    /// The value as a `Double` if it is a number (integer or float).
    public var number: Double? {
        switch self {
        case .unsigned(let n): return Double(n)
        case .negative(let n): return -1 - Double(n)
        case .float(let d): return d
        default: return nil
        }
    }

    /// The text, if this is a text string.
    public var text: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    /// The bytes, if this is a byte string.
    public var bytes: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }

    /// The elements, if this is an array.
    public var array: [CBORValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The entries, if this is a map.
    public var map: [CBORValue: CBORValue]? {
        if case .map(let m) = self { return m }
        return nil
    }

    /// Encodes the value with RFC 8949 §4.2.1 core deterministic encoding.
    public func encoded() -> [UInt8] {
        var encoder = CBOREncoder()
        encoder.encode(self)
        return encoder.bytes
    }
}

/// A CBOR simple value other than false, true, null and undefined (RFC 8949 §3.3).
///
/// Only 0–19 and 32–255 exist: 20–23 have their own `CBORValue` cases and 24–31 are reserved
/// (they have no well-formed encoding), so the initialiser refuses them.
public struct CBORSimpleValue: Hashable, Sendable {
    public let rawValue: UInt8

    /// Returns nil for 20–31 (use `.bool`, `.null`, `.undefined`; 24–31 are reserved).
    public init?(_ rawValue: UInt8) {
        guard rawValue < 20 || rawValue >= 32 else { return nil }
        self.rawValue = rawValue
    }
}

extension CBORValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByFloatLiteral
{
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: CBORValue...) { self = .array(elements) }
    public init(floatLiteral value: Double) { self = .float(value) }
}
