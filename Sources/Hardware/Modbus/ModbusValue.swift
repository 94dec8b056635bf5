import SystemSupport

/// How a multi-byte value is laid out across 16-bit Modbus registers.
///
/// Name the value's bytes in big-endian order, most significant first:
/// `A B` for 16 bits, `A B C D` for 32 bits, `A B C D E F G H` for 64 bits.
/// A register holds two bytes, written here high byte first, and registers
/// are listed from the lowest address up:
///
/// | order  | meaning                              | 16-bit | 32-bit      | 64-bit                |
/// |--------|--------------------------------------|--------|-------------|-----------------------|
/// | `ABCD` | big-endian (the Modbus standard)     | `AB`   | `AB CD`     | `AB CD EF GH`         |
/// | `CDAB` | word-swapped: low word first         | `AB`   | `CD AB`     | `GH EF CD AB`         |
/// | `BADC` | byte-swapped inside each register    | `BA`   | `BA DC`     | `BA DC FE HG`         |
/// | `DCBA` | little-endian (both swaps)           | `BA`   | `DC BA`     | `HG FE DC BA`         |
///
/// Example: float32 1.0 is `3F 80 00 00`; as ABCD the registers are
/// `0x3F80 0x0000`, as CDAB `0x0000 0x3F80`, as BADC `0x803F 0x0000`, as
/// DCBA `0x0000 0x803F`.
public enum ModbusWordOrder: String, Sendable, CaseIterable, Codable {
    case abcd = "ABCD"
    case cdab = "CDAB"
    case badc = "BADC"
    case dcba = "DCBA"

    /// Parses `ABCD`, `cdab`… (case-insensitive). Nil for anything else.
    public init?(name: String) {
        self.init(rawValue: name.uppercased())
    }

    /// Bytes are swapped inside each register (BADC, DCBA).
    var swapsBytes: Bool { self == .badc || self == .dcba }
    /// Registers are in reverse order, least significant first (CDAB, DCBA).
    var swapsWords: Bool { self == .cdab || self == .dcba }

    /// Lays out big-endian `bytes` (an even count) as registers in this order.
    func registers(fromBigEndian bytes: [UInt8]) -> [UInt16] {
        var words: [UInt16] = []
        words.reserveCapacity(bytes.count / 2)
        var index = 0
        while index + 1 < bytes.count {
            let (high, low) = swapsBytes ? (bytes[index + 1], bytes[index]) : (bytes[index], bytes[index + 1])
            words.append(UInt16(high) << 8 | UInt16(low))
            index += 2
        }
        return swapsWords ? words.reversed() : words
    }

    /// The big-endian bytes of a value stored as `registers` in this order.
    func bigEndianBytes(from registers: [UInt16]) -> [UInt8] {
        let words = swapsWords ? Array(registers.reversed()) : registers
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * 2)
        for word in words {
            let high = UInt8(word >> 8), low = UInt8(word & 0xFF)
            if swapsBytes { bytes += [low, high] } else { bytes += [high, low] }
        }
        return bytes
    }
}

/// The type of a value held in Modbus registers.
public enum ModbusDataType: String, Sendable, CaseIterable, Codable {
    case u16, i16, u32, i32, f32, u64, f64

    /// Parses `f32`, `F32`, and the long forms `uint16`, `int32`, `float32`, `float64`.
    public init?(name: String) {
        let lower = name.lowercased()
        if let type = ModbusDataType(rawValue: lower) {
            self = type
            return
        }
        switch lower {
        case "uint16": self = .u16
        case "int16": self = .i16
        case "uint32": self = .u32
        case "int32": self = .i32
        case "float32", "float": self = .f32
        case "uint64": self = .u64
        case "float64", "double": self = .f64
        default: return nil
        }
    }

    /// How many 16-bit registers one value of this type takes: 1, 2 or 4.
    public var registerCount: Int {
        switch self {
        case .u16, .i16: 1
        case .u32, .i32, .f32: 2
        case .u64, .f64: 4
        }
    }

    /// Whether the type is a floating-point type.
    public var isFloatingPoint: Bool { self == .f32 || self == .f64 }
}

/// One decoded value, in its Modbus type.
public enum ModbusValue: Sendable, Equatable {
    case u16(UInt16)
    case i16(Int16)
    case u32(UInt32)
    case i32(Int32)
    case f32(Float)
    case u64(UInt64)
    case f64(Double)

    /// The value as a `Double` (exact for everything except u64 above 2^53).
    public var doubleValue: Double {
        switch self {
        case .u16(let v): Double(v)
        case .i16(let v): Double(v)
        case .u32(let v): Double(v)
        case .i32(let v): Double(v)
        case .f32(let v): Double(v)
        case .u64(let v): Double(v)
        case .f64(let v): v
        }
    }

    /// The type of this value.
    public var type: ModbusDataType {
        switch self {
        case .u16: .u16
        case .i16: .i16
        case .u32: .u32
        case .i32: .i32
        case .f32: .f32
        case .u64: .u64
        case .f64: .f64
        }
    }

    /// The value as text: integers exactly, floats in shortest round-trip form.
    public var text: String {
        switch self {
        case .u16(let v): String(v)
        case .i16(let v): String(v)
        case .u32(let v): String(v)
        case .i32(let v): String(v)
        case .f32(let v): v.description
        case .u64(let v): String(v)
        case .f64(let v): v.description
        }
    }

    /// The value's bits, big-endian, as `registerCount * 2` bytes.
    var bigEndianBytes: [UInt8] {
        func bytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
            (0..<(T.bitWidth / 8)).reversed().map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) }
        }
        switch self {
        case .u16(let v): return bytes(v)
        case .i16(let v): return bytes(UInt16(bitPattern: v))
        case .u32(let v): return bytes(v)
        case .i32(let v): return bytes(UInt32(bitPattern: v))
        case .f32(let v): return bytes(v.bitPattern)
        case .u64(let v): return bytes(v)
        case .f64(let v): return bytes(v.bitPattern)
        }
    }

    /// Rebuilds a value of `type` from its big-endian bytes.
    init(type: ModbusDataType, bigEndianBytes bytes: [UInt8]) {
        var raw: UInt64 = 0
        for byte in bytes { raw = raw << 8 | UInt64(byte) }
        switch type {
        case .u16: self = .u16(UInt16(truncatingIfNeeded: raw))
        case .i16: self = .i16(Int16(bitPattern: UInt16(truncatingIfNeeded: raw)))
        case .u32: self = .u32(UInt32(truncatingIfNeeded: raw))
        case .i32: self = .i32(Int32(bitPattern: UInt32(truncatingIfNeeded: raw)))
        case .f32: self = .f32(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
        case .u64: self = .u64(raw)
        case .f64: self = .f64(Double(bitPattern: raw))
        }
    }
}

/// How to read a quantity from registers: its type, word order and an
/// optional scale, as written in a device's register map ("f32 CDAB",
/// "u16 ×0.1 V").
///
/// With a scale the register holds a fixed-point number: the physical value
/// is `raw × scale` (a u16 of 2305 with scale 0.1 reads 230.5). Encoding
/// divides by the scale and rounds to the nearest raw value.
public struct ModbusValueFormat: Sendable, Equatable, Codable {
    public var type: ModbusDataType
    public var order: ModbusWordOrder
    /// Multiplier from raw to physical value (0.1, 0.01, 10…); nil means 1.
    public var scale: Double?

    public init(_ type: ModbusDataType, order: ModbusWordOrder = .abcd, scale: Double? = nil) {
        self.type = type
        self.order = order
        self.scale = scale
    }

    /// Registers one value takes.
    public var registerCount: Int { type.registerCount }

    /// Decodes exactly `registerCount` registers into the raw typed value.
    public func decode(_ registers: [UInt16]) throws(ModbusValueError) -> ModbusValue {
        guard registers.count == registerCount else {
            throw ModbusValueError("\(type.rawValue) needs \(registerCount) register(s), got \(registers.count)")
        }
        return ModbusValue(type: type, bigEndianBytes: order.bigEndianBytes(from: registers))
    }

    /// Decodes registers into the physical value: raw × scale.
    public func decodeNumber(_ registers: [UInt16]) throws(ModbusValueError) -> Double {
        let raw = try decode(registers).doubleValue
        return scale.map { raw * $0 } ?? raw
    }

    /// Decodes consecutive values from `registers` (a multiple of `registerCount`).
    public func decodeAll(_ registers: [UInt16]) throws(ModbusValueError) -> [ModbusValue] {
        guard registers.count % registerCount == 0 else {
            throw ModbusValueError("\(registers.count) registers are not a whole number of \(type.rawValue) values")
        }
        var values: [ModbusValue] = []
        var index = 0
        while index < registers.count {
            values.append(try decode(Array(registers[index..<index + registerCount])))
            index += registerCount
        }
        return values
    }

    /// Encodes a raw typed value for writing; its type must match `type`.
    public func encode(_ value: ModbusValue) throws(ModbusValueError) -> [UInt16] {
        guard value.type == type else {
            throw ModbusValueError("value is \(value.type.rawValue), format is \(type.rawValue)")
        }
        return order.registers(fromBigEndian: value.bigEndianBytes)
    }

    /// Encodes a physical value: divides by the scale, rounds integers to the
    /// nearest raw value and refuses anything that does not fit the type.
    public func encode(number: Double) throws(ModbusValueError) -> [UInt16] {
        let raw = scale.map { number / $0 } ?? number
        return try encode(Self.value(raw, as: type, original: number))
    }

    /// Encodes text as typed by a technician: `230.5`, `-12`, `0x1F`, `nan`, `inf`.
    public func encode(text: String) throws(ModbusValueError) -> [UInt16] {
        let lower = text.lowercased()
        if scale == nil, !type.isFloatingPoint {
            // Integers exactly, without a detour through Double (u64 needs all 64 bits).
            let (digits, radix) = lower.hasPrefix("0x") ? (String(lower.dropFirst(2)), 16) : (lower, 10)
            if let value = Self.integer(digits, radix: radix, as: type) {
                return try encode(value)
            }
            guard radix == 10, let number = Double(lower) else {
                throw ModbusValueError("'\(text)' is not a \(type.rawValue) number")
            }
            guard number.rounded() == number else {
                throw ModbusValueError("\(text) is not a whole number, \(type.rawValue) holds integers")
            }
            return try encode(number: number)
        }
        guard let number = Double(lower) else { throw ModbusValueError("'\(text)' is not a number") }
        return try encode(number: number)
    }

    private static func integer(_ digits: String, radix: Int, as type: ModbusDataType) -> ModbusValue? {
        switch type {
        case .u16: UInt16(digits, radix: radix).map(ModbusValue.u16)
        case .i16: Int16(digits, radix: radix).map(ModbusValue.i16)
        case .u32: UInt32(digits, radix: radix).map(ModbusValue.u32)
        case .i32: Int32(digits, radix: radix).map(ModbusValue.i32)
        case .u64: UInt64(digits, radix: radix).map(ModbusValue.u64)
        case .f32, .f64: nil
        }
    }

    private static func value(_ raw: Double, as type: ModbusDataType, original: Double) throws(ModbusValueError) -> ModbusValue {
        func integer<T: FixedWidthInteger>(_: T.Type) throws(ModbusValueError) -> T {
            let rounded = raw.rounded(.toNearestOrAwayFromZero)
            guard let exact = T(exactly: rounded) else {
                throw ModbusValueError("\(original) does not fit \(type.rawValue) (range \(T.min)…\(T.max) raw)")
            }
            return exact
        }
        switch type {
        case .u16: return .u16(try integer(UInt16.self))
        case .i16: return .i16(try integer(Int16.self))
        case .u32: return .u32(try integer(UInt32.self))
        case .i32: return .i32(try integer(Int32.self))
        case .u64: return .u64(try integer(UInt64.self))
        case .f32:
            let single = Float(raw)
            if single.isInfinite && raw.isFinite {
                throw ModbusValueError("\(original) does not fit f32 (largest is \(Float.greatestFiniteMagnitude))")
            }
            return .f32(single)
        case .f64: return .f64(raw)
        }
    }
}

/// A value that cannot be decoded from, or encoded into, Modbus registers.
public struct ModbusValueError: ActionableError, Equatable {
    /// Stable code (`ActionableError`): a register value or its description is not usable.
    public var code: String { "modbus.invalid-value" }

    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The four data tables of a Modbus unit.
public enum ModbusTable: String, Sendable, CaseIterable, Codable {
    /// Read/write single bits (function codes 1, 5, 15).
    case coil
    /// Read-only single bits (function code 2).
    case discreteInput = "discrete"
    /// Read/write 16-bit registers (function codes 3, 6, 16).
    case holdingRegister = "holding"
    /// Read-only 16-bit registers (function code 4).
    case inputRegister = "input"

    /// Parses `holding`, `input`, `coil`, `discrete` and common plurals/long forms.
    public init?(name: String) {
        switch name.lowercased() {
        case "coil", "coils": self = .coil
        case "discrete", "discrete-input", "discrete-inputs", "discretes": self = .discreteInput
        case "holding", "holding-register", "holding-registers", "holdings": self = .holdingRegister
        case "input", "input-register", "input-registers", "inputs": self = .inputRegister
        default: return nil
        }
    }

    /// Whether the table holds bits rather than 16-bit registers.
    public var holdsBits: Bool { self == .coil || self == .discreteInput }
    /// Whether a master may write to this table.
    public var isWritable: Bool { self == .coil || self == .holdingRegister }
    /// The most items one read request may ask for (2000 bits, 125 registers).
    public var maxReadCount: Int { holdsBits ? 2000 : 125 }
}
