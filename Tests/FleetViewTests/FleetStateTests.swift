import FleetTestSupport
import Foundation
import Clocks
import Ingest
import Synchronization
import Telemetry
import TestSupport
import Testing
@testable import FleetView

/// A clock the test moves.
final class TestClock: Sendable {
    private let time = Mutex(FleetBoard.base)
    var now: Date { time.withLock { $0 } }
    func set(_ date: Date) { time.withLock { $0 = date } }
}

@Suite struct FleetStateTests {
    static let pole = Pole(device: "pole-0001", label: "Rue Royale 1", latitudeDegrees: 50.85, longitudeDegrees: 4.36, ratedPowerWatts: 60)
    static let stored = Acceptance.store(gap: nil, advancesChain: true)

    func state(_ clock: TestClock = TestClock(), offlineAfter: TimeInterval = 900) -> FleetState {
        FleetState(inventory: PoleInventory(poles: [Self.pole]), offlineAfter: offlineAfter, now: { clock.now })
    }

    @Test(arguments: AlarmCatalogue.alarms)
    func everyCataloguedAlarmRaisesAndClears(definition: AlarmDefinition) async throws {
        let fleet = state()
        var board = try FleetBoard(device: Self.pole.device)
        let raise: SpoolRecord =
            definition.raisedBy.first.map { FleetBoard.event($0, at: 1, message: "raised") }
            ?? FleetBoard.event(definition.switchedBy!, at: 1, value: .boolean(true))
        await fleet.apply(device: Self.pole.device, batch: try board.verified([raise]), acceptance: Self.stored, receivedAt: FleetBoard.base)
        let raised = try #require(await fleet.summary(device: Self.pole.device))
        #expect(raised.condition == .fault)
        #expect(raised.alarms.map(\.alarm) == [definition.alarm])
        #expect(raised.alarms.first?.title == definition.title)
        #expect(raised.alarms.first?.since == FleetBoard.base.addingTimeInterval(1))

        for kind in definition.clearedBy {
            await fleet.apply(device: Self.pole.device, batch: try board.verified([FleetBoard.event(kind, at: 2)]), acceptance: Self.stored, receivedAt: FleetBoard.base)
            #expect(await fleet.summary(device: Self.pole.device)?.alarms.isEmpty == true, "\(kind) clears \(definition.alarm)")
            #expect(await fleet.summary(device: Self.pole.device)?.condition == .ok)
        }
        if let switched = definition.switchedBy {
            await fleet.apply(device: Self.pole.device, batch: try board.verified([FleetBoard.event(switched, at: 3, value: .boolean(true))]), acceptance: Self.stored, receivedAt: FleetBoard.base)
            #expect(await fleet.summary(device: Self.pole.device)?.condition == .fault)
            await fleet.apply(device: Self.pole.device, batch: try board.verified([FleetBoard.event(switched, at: 4, value: .boolean(false))]), acceptance: Self.stored, receivedAt: FleetBoard.base)
            #expect(await fleet.summary(device: Self.pole.device)?.alarms.isEmpty == true)
        }
    }

    @Test func aLateBatchDoesNotUndoANewerClear() async throws {
        let fleet = state()
        var board = try FleetBoard(device: Self.pole.device)
        let opened = try board.verified([FleetBoard.event("cabinet.door.opened", at: 10)])
        let closed = try board.verified([FleetBoard.event("cabinet.door.closed", at: 20)])
        await fleet.apply(device: Self.pole.device, batch: closed, acceptance: Self.stored, receivedAt: FleetBoard.base)
        await fleet.apply(device: Self.pole.device, batch: opened, acceptance: .store(gap: nil, advancesChain: false), receivedAt: FleetBoard.base)
        #expect(await fleet.summary(device: Self.pole.device)?.alarms.isEmpty == true)
    }

    @Test func conditionsApplyInTheirOrder() async throws {
        let clock = TestClock()
        let fleet = state(clock)
        var board = try FleetBoard(device: Self.pole.device)
        let device = Self.pole.device
        #expect(await fleet.summary(device: device)?.condition == .neverSeen)

        await fleet.apply(device: device, batch: try board.verified([FleetBoard.event("lamp.level", at: 1, value: .number(40), message: "lamp → 40 %: city schedule step 2")]), acceptance: Self.stored, receivedAt: clock.now)
        var summary = try #require(await fleet.summary(device: device))
        #expect(summary.condition == .ok)
        #expect(summary.lampLevelPercent == 40)
        #expect(summary.lampReason == "city schedule step 2")

        await fleet.apply(device: device, batch: try board.verified([FleetBoard.event("lamp.override", at: 2, value: .number(100), message: "override 100 %")]), acceptance: Self.stored, receivedAt: clock.now)
        #expect(await fleet.summary(device: device)?.condition == .overridden)

        let gap = Acceptance.store(gap: SequenceGap(expected: 3, received: 5, note: "missing"), advancesChain: true)
        await fleet.apply(device: device, batch: try board.verified([FleetBoard.reading("meter.active_power", 60, at: 3)]), acceptance: gap, receivedAt: clock.now)
        #expect(await fleet.summary(device: device)?.condition == .dataGap)

        await fleet.apply(device: device, batch: try board.verified([FleetBoard.reading("meter.active_power", 60, at: 4).unsynchronised]), acceptance: Self.stored, receivedAt: clock.now)
        #expect(await fleet.summary(device: device)?.condition == .clockUnsynchronised)

        clock.set(clock.now.addingTimeInterval(901))
        #expect(await fleet.summary(device: device)?.condition == .offline)

        await fleet.apply(device: device, batch: try board.verified([FleetBoard.event("lamp.failure", at: 5, severity: .alarm)]), acceptance: Self.stored, receivedAt: FleetBoard.base)
        summary = try #require(await fleet.summary(device: device))
        #expect(summary.condition == .fault)
    }

    @Test func offlineIsJudgedByTheInjectedClock() async throws {
        let clock = TestClock()
        let fleet = state(clock, offlineAfter: 60)
        var board = try FleetBoard(device: Self.pole.device)
        await fleet.apply(device: Self.pole.device, batch: try board.verified([FleetBoard.reading("meter.energy", 1, at: 0)]), acceptance: Self.stored, receivedAt: clock.now)
        clock.set(FleetBoard.base.addingTimeInterval(60))
        #expect(await fleet.snapshot().first?.condition == .ok)
        clock.set(FleetBoard.base.addingTimeInterval(61))
        #expect(await fleet.snapshot().first?.condition == .offline)
    }

    @Test func aBoardNotInTheInventoryIsListedWithoutAPosition() async throws {
        let fleet = state()
        var board = try FleetBoard(device: "pole-stranger")
        await fleet.apply(device: "pole-stranger", batch: try board.verified([FleetBoard.reading("meter.energy", 1, at: 0)]), acceptance: Self.stored, receivedAt: FleetBoard.base)
        let snapshot = await fleet.snapshot()
        #expect(snapshot.map(\.pole.device) == [Self.pole.device, "pole-stranger"])
        #expect(snapshot.last?.inInventory == false)
    }

    @Test func aSlowReaderGetsTheNewestSummaryPerPoleOnly() async throws {
        let fleet = state()
        let changes = await fleet.changes()
        var board = try FleetBoard(device: Self.pole.device)
        for second in 1...50 {
            let record = FleetBoard.event("lamp.level", at: Int64(second), value: .number(Double(second)), message: "lamp → \(second) %: test")
            await fleet.apply(device: Self.pole.device, batch: try board.verified([record]), acceptance: Self.stored, receivedAt: FleetBoard.base)
        }
        var iterator = changes.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first?.lampLevelPercent == 50)
    }

    @Test func anIdleReaderGetsHeartbeatsAndAFinishedStreamEnds() async throws {
        let fleet = state()
        let changes = await fleet.changes(heartbeat: .milliseconds(10))
        var iterator = changes.makeAsyncIterator()
        #expect(await iterator.nextChange() == .heartbeat)
        changes.finish()
        while let change = await iterator.nextChange() { #expect(change == .heartbeat) }
    }

    @Test func hostileRecordsNeverTrap() async throws {
        var random = SeededRandom(seed: 17)
        let fleet = state()
        var board = try FleetBoard(device: Self.pole.device)
        let kinds = AlarmCatalogue.alarms.flatMap { $0.raisedBy + $0.clearedBy + ($0.switchedBy.map { [$0] } ?? []) }
            + ["lamp.level", "lamp.restored", "lamp.override", "lamp.override-cleared", "downlink.applied", "x", "lamp.level.extra"]
        let values: [ReadingValue?] = [nil, .number(.nan), .number(.infinity), .number(-.infinity), .number(1e300), .number(-1e300),
                                       .number(9.3e18), .string(""), .boolean(true), .boolean(false), .string(String(repeating: "<", count: 5000))]
        let messages = ["", "override", ": ", "lamp → : ", String(repeating: "é", count: 3000), "<script>alert(1)</script>"]
        for _ in 0..<300 {
            let records = (0..<Int.random(in: 1...5, using: &random)).map { _ in
                FleetBoard.event(random.pick(kinds), at: Int64(Int.random(in: 0...200_000, using: &random)), value: random.pick(values),
                                 channel: random.pick([nil, "downlink.scheduler", "downlink.", "lamp.level"]), message: random.pick(messages),
                                 synchronised: Int.random(in: 0...3, using: &random) > 0)
            }
            await fleet.apply(device: Self.pole.device, batch: try board.verified(records), acceptance: Self.stored, receivedAt: FleetBoard.base)
            _ = await fleet.snapshot()
        }
        let summary = try #require(await fleet.summary(device: Self.pole.device))
        if let level = summary.lampLevelPercent { #expect((0...100).contains(level)) }
    }
}

extension SpoolRecord {
    /// The same record taken with an unsynchronised clock.
    var unsynchronised: SpoolRecord {
        switch self {
        case .reading(var reading):
            reading.time.isClockSynchronised = false
            return .reading(reading)
        case .event(var event):
            event.time.isClockSynchronised = false
            return .event(event)
        }
    }
}
