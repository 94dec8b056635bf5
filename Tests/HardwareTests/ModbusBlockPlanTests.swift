import Hardware
import Testing
import TestSupport

@Suite("Modbus block planner")
struct ModbusBlockPlanTests {
    private func span(_ table: ModbusTable, _ address: UInt16, _ count: Int = 1) -> ModbusReadSpan {
        ModbusReadSpan(table: table, address: address, count: count)
    }

    @Test func theBenchmarksFortyChannelsAreTwoReads() {
        let spans = (0..<20).map { span(.holdingRegister, UInt16(2 * $0), 2) } + (0..<20).map { span(.inputRegister, UInt16($0)) }
        let blocks = ModbusBlockPlanner.plan(spans, limits: .standard)
        #expect(blocks.map { "\($0.table.rawValue) \($0.address)×\($0.count)" } == ["holding 0×40", "input 0×20"])
        #expect(blocks[0].members == Array(0..<20))
        #expect(blocks[1].members == Array(20..<40))
    }

    @Test func aHoleLongerThanTheGapStartsANewBlock() {
        // The SDM120 map: 0, 6, 12 (holes of 4), then 30, 70 and 342.
        let spans = [0, 6, 12, 30, 70, 342].map { span(.inputRegister, UInt16($0), 2) }
        #expect(ModbusBlockPlanner.plan(spans, limits: .standard).map(\.count) == [14, 2, 2, 2])
        var noHoles = ModbusBlockLimits.standard
        noHoles.maxGap = 0
        #expect(ModbusBlockPlanner.plan(spans, limits: noHoles).count == 6)
        var wide = ModbusBlockLimits.standard
        wide.maxGap = 125
        #expect(ModbusBlockPlanner.plan(spans, limits: wide).map(\.count) == [72, 2])
    }

    @Test func theLimitSplitsALongRunAndTablesNeverMix() {
        let spans = (0..<130).map { span(.holdingRegister, UInt16($0)) } + [span(.coil, 0), span(.coil, 1999), span(.discreteInput, 5)]
        let blocks = ModbusBlockPlanner.plan(spans, limits: .standard)
        #expect(blocks.map(\.count) == [125, 5, 1, 1, 1])
        #expect(blocks.map(\.table) == [.holdingRegister, .holdingRegister, .coil, .coil, .discreteInput])
    }

    @Test func bitsOfOneRegisterShareARead() {
        let spans = [span(.holdingRegister, 7), span(.holdingRegister, 7), span(.holdingRegister, 8)]
        #expect(ModbusBlockPlanner.plan(spans, limits: .perItem).map(\.members) == [[0, 1], [2]])
    }

    @Test func anItemPastTheAddressSpaceGetsARequestOfItsOwn() {
        let spans = [span(.holdingRegister, 65_533), span(.holdingRegister, 65_535, 2)]
        let blocks = ModbusBlockPlanner.plan(spans, limits: .standard)
        #expect(blocks.map(\.members) == [[0], [1]])
    }

    @Test func aRefusedBlockSplitsAtItsHolesThenIntoItems() throws {
        let spans = [span(.holdingRegister, 0, 2), span(.holdingRegister, 2), span(.holdingRegister, 10, 2)]
        let block = try #require(ModbusBlockPlanner.plan(spans, limits: .standard).first)
        #expect(block.count == 12)
        let parts = try #require(ModbusBlockPlanner.split(block, of: spans, limits: .standard))
        #expect(parts.map(\.members) == [[0, 1], [2]])
        let items = try #require(ModbusBlockPlanner.split(parts[0], of: spans, limits: .standard))
        #expect(items.map(\.members) == [[0], [1]])
        #expect(ModbusBlockPlanner.split(items[0], of: spans, limits: .standard) == nil)
    }

    /// Random register sets, sizes, gaps and limits: every span is answered by
    /// exactly one block that holds all of it, no block is over its limit or
    /// reads over a longer hole than allowed, and splitting always ends.
    @Test func fuzzedPlansCoverEverySpanOnceWithinTheLimits() throws {
        var random = SeededRandom(seed: 0x0B10_C4ED)
        let tables = ModbusTable.allCases
        for _ in 0..<400 {
            let limits = ModbusBlockLimits(
                maxRegisters: Int(random.next() % 125) + 1, maxBits: Int(random.next() % 2000) + 1, maxGap: Int(random.next() % 126))
            let base = Int(random.next() % 65_536)
            let spread = Int(random.next() % 600) + 1
            let spans = (0..<Int(random.next() % 60)).map { _ -> ModbusReadSpan in
                let table = random.pick(tables)
                let count = table.holdsBits ? 1 : random.pick([1, 1, 2, 2, 4])
                return span(table, UInt16(min(65_535, base + Int(random.next() % UInt64(spread)))), count)
            }
            let blocks = ModbusBlockPlanner.plan(spans, limits: limits)
            try check(blocks, cover: Array(spans.indices), of: spans, limits: limits)
            // Split every block down to the end: each split covers the same spans.
            var pending = blocks
            var steps = 0
            while let block = pending.popLast() {
                steps += 1
                try #require(steps < 10_000, "splitting does not end")
                guard let parts = ModbusBlockPlanner.split(block, of: spans, limits: limits) else { continue }
                #expect(parts.count > 1)
                try check(parts, cover: block.members, of: spans, limits: limits)
                pending += parts
            }
        }
    }

    private func check(_ blocks: [ModbusReadBlock], cover members: [Int], of spans: [ModbusReadSpan], limits: ModbusBlockLimits) throws {
        #expect(blocks.flatMap(\.members).sorted() == members.sorted(), "every span in exactly one block")
        for block in blocks {
            let inside = block.members.map { spans[$0] }
            #expect(inside.allSatisfy { $0.table == block.table })
            #expect(inside.allSatisfy { Int($0.address) >= Int(block.address) && $0.end <= Int(block.address) + block.count })
            let largest = inside.map(\.count).max() ?? 0
            #expect(block.count <= max(limits.maxCount(block.table), largest), "block \(block.address)×\(block.count) over the limit")
            #expect(block.members.count == 1 || Int(block.address) + block.count <= 65_536)
            // No hole longer than the gap: walk the covered addresses in order.
            var covered = Int(block.address)
            for span in inside.sorted(by: { $0.address < $1.address }) {
                #expect(Int(span.address) - covered <= limits.maxGap, "a hole over the largest gap")
                covered = max(covered, span.end)
            }
            #expect(covered == Int(block.address) + block.count, "the block reads past its last span")
        }
    }
}
