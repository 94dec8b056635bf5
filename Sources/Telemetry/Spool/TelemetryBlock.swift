import FoundationEssentials
import Clocks

/// The readings of one group commit packed into bytes: the payload of one frame of the spool's
/// telemetry log (`TelemetryLog`, docs/spool.md "How readings are stored").
///
/// A reading of a 40-register poll takes 7–11 bytes instead of a ~45-byte SQLite row plus its page
/// share: channels are ids, times are differences from the reading before, numbers are stored as
/// small integers or float32 when that keeps them exact (a Modbus u16 or f32 register value always
/// is), and sequence numbers that follow each other cost nothing.
///
/// Layout (little-endian; varint = unsigned LEB128; zigzag = signed varint):
/// ```
/// version                         1 byte (= 1)
/// reading count                   varint
/// boot count, boot ids            varint (1…255), 16 bytes each
/// per reading:
///   head                          1 byte: bits 0–2 quality, bits 3–5 value encoding,
///                                 bit 6 sequence step follows, bit 7 boot index follows
///   sequence step − 2             varint, when bit 6 (otherwise the previous sequence + 1;
///                                 the "previous" of the first reading is the frame's first sequence − 1)
///   boot index                    varint, when bit 7 (otherwise the previous reading's; first: 0)
///   channel id                    varint (the spool's `channel` table)
///   boot time step                zigzag, ns since the previous reading's boot time (first: since 0)
///   clock offset step             zigzag, change of (UTC − boot time) since the previous reading (first: from 0)
///   value                         0 integer: zigzag · 1 float32 · 2 float64 · 3 false · 4 true ·
///                                 5 string: varint length + UTF-8
/// ```
/// Differences wrap (two's complement), so every Int64 round-trips and hostile bytes cannot trap.
enum TelemetryBlock {
    static let version: UInt8 = 1

    /// One reading with its spool sequence number and the id of its channel row.
    struct Entry: Equatable, Sendable {
        var sequence: Int64
        var channelID: Int64
        var value: ReadingValue
        var time: Timestamp
        var quality: ReadingQuality
    }

    struct DecodeError: Error, CustomStringConvertible {
        var description: String
    }

    private enum ValueEncoding: UInt8 {
        case integer = 0, float32, float64, falseValue, trueValue, string
    }

    // MARK: encoding

    /// Packs `entries` (ascending sequence numbers, at least one) into a block.
    static func encode(_ entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 + entries.count * 12)
        out.append(version)
        appendVarint(UInt64(entries.count), to: &out)
        var boots: [UUID] = []
        var bootIndex: [UUID: Int] = [:]
        for entry in entries where bootIndex[entry.time.bootID] == nil {
            bootIndex[entry.time.bootID] = boots.count
            boots.append(entry.time.bootID)
        }
        precondition(boots.count <= 255, "a group commit holds at most 255 boots")  // one per restart: never near
        appendVarint(UInt64(boots.count), to: &out)
        for boot in boots {
            withUnsafeBytes(of: boot.uuid) { out.append(contentsOf: $0) }
        }
        var previousSequence = (entries.first?.sequence ?? 1) &- 1
        var previousBoot = 0
        var previousBootNanoseconds: Int64 = 0
        var previousOffset: Int64 = 0
        for entry in entries {
            let boot = bootIndex[entry.time.bootID] ?? 0
            let step = entry.sequence &- previousSequence
            let (encoding, valueBytes) = encodeValue(entry.value)
            var head = entry.quality.rawValue & 0x7 | encoding.rawValue << 3
            if step != 1 { head |= 1 << 6 }
            if boot != previousBoot { head |= 1 << 7 }
            out.append(head)
            if step != 1 { appendVarint(UInt64(bitPattern: step &- 2), to: &out) }
            if boot != previousBoot { appendVarint(UInt64(boot), to: &out) }
            appendVarint(UInt64(bitPattern: entry.channelID), to: &out)
            appendZigzag(entry.time.bootNanoseconds &- previousBootNanoseconds, to: &out)
            let offset = entry.time.utcNanoseconds &- entry.time.bootNanoseconds
            appendZigzag(offset &- previousOffset, to: &out)
            out.append(contentsOf: valueBytes)
            previousSequence = entry.sequence
            previousBoot = boot
            previousBootNanoseconds = entry.time.bootNanoseconds
            previousOffset = offset
        }
        return out
    }

    private static func encodeValue(_ value: ReadingValue) -> (ValueEncoding, [UInt8]) {
        switch value {
        case .boolean(let b):
            return (b ? .trueValue : .falseValue, [])
        case .string(let s):
            var out: [UInt8] = []
            appendVarint(UInt64(s.utf8.count), to: &out)
            out.append(contentsOf: s.utf8)
            return (.string, out)
        case .number(let d):
            if d.isFinite, d.magnitude <= 9_007_199_254_740_992, d == d.rounded(.towardZero), !(d == 0 && d.sign == .minus) {
                var out: [UInt8] = []
                appendZigzag(Int64(d), to: &out)
                return (.integer, out)
            }
            let single = Float(d)
            if Double(single) == d {  // never for NaN: it goes as float64, payload and all
                return (.float32, withUnsafeBytes(of: single.bitPattern.littleEndian) { Array($0) })
            }
            return (.float64, withUnsafeBytes(of: d.bitPattern.littleEndian) { Array($0) })
        }
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func appendZigzag(_ value: Int64, to out: inout [UInt8]) {
        appendVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: &out)
    }

    // MARK: decoding

    /// Unpacks a block whose first reading has sequence number `firstSequence` (from the frame header).
    /// Throws `DecodeError` for anything malformed; never traps, whatever the bytes.
    static func decode(_ bytes: some Collection<UInt8>, firstSequence: Int64) throws(DecodeError) -> [Entry] {
        var reader = ByteReader(Array(bytes))
        guard try reader.byte() == version else { throw DecodeError(description: "unknown block version") }
        let count = try reader.varint()
        // Each reading takes at least 5 bytes: a count beyond that is a lie, not a reason to allocate.
        guard count <= UInt64(reader.remaining / 5) else {
            throw DecodeError(description: "block claims \(count) readings in \(reader.remaining) bytes")
        }
        let bootCount = try reader.varint()
        guard bootCount >= 1, bootCount <= 255, bootCount <= UInt64(reader.remaining / 16) else {
            throw DecodeError(description: "block has an impossible boot count \(bootCount)")
        }
        var boots: [UUID] = []
        for _ in 0..<Int(bootCount) {
            let raw = try reader.bytes(16)
            var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &uuid) { $0.copyBytes(from: raw) }
            boots.append(UUID(uuid: uuid))
        }
        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        var previousSequence = firstSequence &- 1
        var boot = 0
        var bootNanoseconds: Int64 = 0
        var offset: Int64 = 0
        for _ in 0..<Int(count) {
            let head = try reader.byte()
            var step: Int64 = 1
            if head & (1 << 6) != 0 { step = Int64(bitPattern: try reader.varint()) &+ 2 }
            if head & (1 << 7) != 0 {
                let index = try reader.varint()
                guard index < UInt64(boots.count) else { throw DecodeError(description: "boot index \(index) out of range") }
                boot = Int(index)
            }
            let channelID = Int64(bitPattern: try reader.varint())
            bootNanoseconds = bootNanoseconds &+ (try reader.zigzag())
            offset = offset &+ (try reader.zigzag())
            let value: ReadingValue
            switch ValueEncoding(rawValue: (head >> 3) & 0x7) {
            case .integer: value = .number(Double(try reader.zigzag()))
            case .float32: value = .number(Double(Float(bitPattern: try reader.uint32())))
            case .float64: value = .number(Double(bitPattern: try reader.uint64()))
            case .falseValue: value = .boolean(false)
            case .trueValue: value = .boolean(true)
            case .string:
                let length = try reader.varint()
                guard length <= UInt64(reader.remaining) else { throw DecodeError(description: "string runs past the block") }
                guard let text = String(validating: try reader.bytes(Int(length)), as: UTF8.self) else {
                    throw DecodeError(description: "string is not UTF-8")
                }
                value = .string(text)
            case nil: throw DecodeError(description: "unknown value encoding")
            }
            let sequence = previousSequence &+ step
            guard sequence > previousSequence else { throw DecodeError(description: "sequence numbers do not ascend") }
            previousSequence = sequence
            let quality = ReadingQuality(rawValue: head & 0x7)
            entries.append(Entry(
                sequence: sequence, channelID: channelID, value: value,
                time: Timestamp(utcNanoseconds: bootNanoseconds &+ offset, bootNanoseconds: bootNanoseconds,
                                bootID: boots[boot], isClockSynchronised: !quality.contains(.clockUnsynchronised)),
                quality: quality))
        }
        guard reader.remaining == 0 else { throw DecodeError(description: "\(reader.remaining) bytes after the last reading") }
        return entries
    }

    /// Reads a byte array front to back; every read is bounds-checked.
    private struct ByteReader {
        let bytes: [UInt8]
        var position = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var remaining: Int { bytes.count - position }

        mutating func byte() throws(DecodeError) -> UInt8 {
            guard position < bytes.count else { throw DecodeError(description: "block ends early") }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func bytes(_ n: Int) throws(DecodeError) -> ArraySlice<UInt8> {
            guard n >= 0, n <= remaining else { throw DecodeError(description: "block ends early") }
            defer { position += n }
            return bytes[position..<position + n]
        }

        mutating func varint() throws(DecodeError) -> UInt64 {
            var result: UInt64 = 0
            for shift in stride(from: UInt64(0), through: 63, by: 7) {
                let b = try byte()
                if shift == 63 && b > 1 { throw DecodeError(description: "varint overflows 64 bits") }
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return result }
            }
            throw DecodeError(description: "varint longer than 10 bytes")
        }

        mutating func zigzag() throws(DecodeError) -> Int64 {
            let v = try varint()
            return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
        }

        mutating func uint32() throws(DecodeError) -> UInt32 {
            try bytes(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }

        mutating func uint64() throws(DecodeError) -> UInt64 {
            try bytes(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
    }
}
