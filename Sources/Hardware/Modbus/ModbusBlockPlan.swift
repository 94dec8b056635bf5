/// How far a poller may coalesce one device's registers into block reads.
///
/// A block read asks for one run of addresses of one table; it may read over
/// a hole of at most `maxGap` items (registers or bits) between two wanted
/// items, and asks for at most `maxRegisters` registers or `maxBits` bits.
/// `maxGap` 0 never reads an address nobody asked for (meters that refuse a
/// read touching an undefined register). A single item larger than the limit
/// (an f64 with `maxRegisters` 1) still gets its one read.
public struct ModbusBlockLimits: Sendable, Hashable {
    /// Registers per block read, 1…125.
    public var maxRegisters: Int
    /// Coils or discrete inputs per block read, 1…2000.
    public var maxBits: Int
    /// Unwanted registers (or bits) a block may read over between two wanted ones, 0…125.
    public var maxGap: Int

    /// The ranges the configuration accepts.
    public static let registerRange = 1...ModbusRequestLimits.maxReadRegisters
    public static let bitRange = 1...ModbusRequestLimits.maxReadBits
    public static let gapRange = 0...ModbusRequestLimits.maxReadRegisters

    /// 125 registers, 2000 bits, holes of up to 10 items read over.
    public static let standard = ModbusBlockLimits(maxRegisters: 125, maxBits: 2000, maxGap: 10)
    /// One request per item, as lampd read before block reads (and the last resort of a split).
    public static let perItem = ModbusBlockLimits(maxRegisters: 1, maxBits: 1, maxGap: 0)

    public init(maxRegisters: Int, maxBits: Int, maxGap: Int) {
        self.maxRegisters = maxRegisters
        self.maxBits = maxBits
        self.maxGap = maxGap
    }

    /// The most items one block of `table` may ask for.
    public func maxCount(_ table: ModbusTable) -> Int {
        max(1, min(table.holdsBits ? maxBits : maxRegisters, table.maxReadCount))
    }
}

/// The addresses one configured item occupies: `count` registers (or bits) of `table` from `address`.
public struct ModbusReadSpan: Sendable, Hashable {
    public var table: ModbusTable
    public var address: UInt16
    public var count: Int

    public init(table: ModbusTable, address: UInt16, count: Int) {
        self.table = table
        self.address = address
        self.count = count
    }

    /// One past the last address (may be past 65535 for a misconfigured item).
    public var end: Int { Int(address) + count }
}

/// One block read: a run of one table and the spans (by index) it answers.
public struct ModbusReadBlock: Sendable, Hashable {
    public var table: ModbusTable
    public var address: UInt16
    public var count: Int
    /// Indices into the spans the block was planned from, in address order.
    public var members: [Int]

    /// The request that reads the block.
    public func request(unit: UInt8) -> ModbusRequest {
        ModbusRequest(unit: unit, .read(table, address: address, count: count))
    }

    /// The part of a block's answer that belongs to `span` (a member of this block), or nil
    /// when the answer is too short or of the wrong kind.
    public func slice(of span: ModbusReadSpan, in response: ModbusResponse) -> ModbusResponse? {
        let offset = Int(span.address) - Int(address)
        guard offset >= 0 else { return nil }
        switch response {
        case .bits(let bits) where table.holdsBits && offset + span.count <= bits.count:
            return .bits(Array(bits[offset..<offset + span.count]))
        case .registers(let words) where !table.holdsBits && offset + span.count <= words.count:
            return .registers(Array(words[offset..<offset + span.count]))
        default:
            return nil
        }
    }
}

/// Plans block reads (what mbpoll and Telegraf's modbus `optimization` do):
/// the fewest requests that cover every span exactly once, within the limits.
public enum ModbusBlockPlanner {
    /// Blocks for `spans` under `limits`: every span is answered by exactly one
    /// block; a block covers one table, at most `limits.maxCount(table)` items
    /// (or one span alone if that span is larger), and no hole longer than
    /// `limits.maxGap`. A span past address 65535 gets a block of its own, so
    /// its refusal cannot take good neighbours with it. Tables come in the order
    /// they first appear; blocks within a table in address order.
    public static func plan(_ spans: [ModbusReadSpan], limits: ModbusBlockLimits) -> [ModbusReadBlock] {
        plan(Array(spans.indices), of: spans, limits: limits)
    }

    /// `plan` for the spans at `indices` only.
    static func plan(_ indices: [Int], of spans: [ModbusReadSpan], limits: ModbusBlockLimits) -> [ModbusReadBlock] {
        var tables: [ModbusTable] = []
        for index in indices where !tables.contains(spans[index].table) { tables.append(spans[index].table) }
        var blocks: [ModbusReadBlock] = []
        for table in tables {
            let sorted = indices.filter { spans[$0].table == table }.sorted {
                (spans[$0].address, spans[$0].end, $0) < (spans[$1].address, spans[$1].end, $1)
            }
            let limit = limits.maxCount(table)
            var current: (start: Int, end: Int, members: [Int])?
            func close() {
                guard let block = current else { return }
                // Counts fit Int and the address came from a UInt16: no trap.
                blocks.append(ModbusReadBlock(table: table, address: UInt16(block.start), count: block.end - block.start, members: block.members))
                current = nil
            }
            for index in sorted {
                let span = spans[index]
                let outOfRange = span.end > 65_536
                if let block = current, !outOfRange, block.end <= 65_536 {
                    let gap = Int(span.address) - block.end
                    let end = max(block.end, span.end)
                    if gap <= limits.maxGap, end - block.start <= limit {
                        current = (block.start, end, block.members + [index])
                        continue
                    }
                }
                close()
                current = (Int(span.address), span.end, [index])
                if outOfRange { close() }
            }
            close()
        }
        return blocks
    }

    /// The smaller reads to try when a unit refuses `block`: first the same
    /// members without reading over any hole, then one read per span (one-item
    /// spans on the same address, e.g. two bits of one register, stay together).
    /// Nil when the block cannot be split.
    public static func split(_ block: ModbusReadBlock, of spans: [ModbusReadSpan], limits: ModbusBlockLimits) -> [ModbusReadBlock]? {
        guard block.members.count > 1 else { return nil }
        var noHoles = limits
        noHoles.maxGap = 0
        let contiguous = plan(block.members, of: spans, limits: noHoles)
        if contiguous.count > 1 { return contiguous }
        let single = plan(block.members, of: spans, limits: .perItem)
        return single.count > 1 ? single : nil
    }
}
