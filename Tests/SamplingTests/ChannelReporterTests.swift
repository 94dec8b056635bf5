import Testing
@testable import Sampling

@Suite("ChannelReporter")
struct ChannelReporterTests {
    @Test func everyPollReportsEverything() {
        var reporter = ChannelReporter(mode: .everyPoll)
        let reports = [1.0, 1.0, 2.0].enumerated().flatMap { reporter.offer($0.element, atSeconds: Double($0.offset)) }
        #expect(reports.map(\.value) == [1, 1, 2])
        #expect(reports.allSatisfy { $0.statistic == .sample && $0.count == 1 })
    }

    @Test func onChangeRespectsDeadbandAndHeartbeat() {
        var reporter = ChannelReporter(mode: .onChange(deadband: 0.5, heartbeatSeconds: 60))
        #expect(reporter.offer(230.0, atSeconds: 0).map(\.value) == [230.0])   // first value always
        #expect(reporter.offer(230.4, atSeconds: 1).isEmpty)                  // inside deadband
        #expect(reporter.offer(229.6, atSeconds: 2).isEmpty)                  // still within 0.5 of 230.0
        #expect(reporter.offer(230.5, atSeconds: 3).map(\.value) == [230.5])  // exactly the deadband
        #expect(reporter.offer(230.6, atSeconds: 62).isEmpty)                 // 59 s since last report
        #expect(reporter.offer(230.6, atSeconds: 63).map(\.value) == [230.6]) // heartbeat
    }

    @Test func onChangeDoesNotDriftBelowDeadband() {
        // Slow drift in steps smaller than the deadband must still be reported
        // once the total change reaches it: compare with the last *reported* value.
        var reporter = ChannelReporter(mode: .onChange(deadband: 1, heartbeatSeconds: 3600))
        var reported: [Double] = []
        for step in 0...10 {
            reported += reporter.offer(Double(step) * 0.3, atSeconds: Double(step)).map(\.value)
        }
        #expect(reported.count == 3)
        #expect(zip(reported, reported.dropFirst()).allSatisfy { $1 - $0 >= 1 })
    }

    @Test func aggregateWindowsAreAlignedAndCarryStatistics() throws {
        var reporter = ChannelReporter(mode: .aggregate(intervalSeconds: 300))
        var reports: [ChannelReporter.Report] = []
        // Polls every 60 s from t = 610 s: the first window is [600, 900).
        for (index, value) in [10.0, 20.0, 30.0, 40.0, 50.0, 60.0].enumerated() {
            reports += reporter.offer(value, atSeconds: 610 + Double(index) * 60)
        }
        // 610, 670, 730, 790, 850 fall in [600, 900); 910 opened the next window.
        #expect(reports.count == 3)
        let byStatistic = Dictionary(uniqueKeysWithValues: reports.map { ($0.statistic, $0) })
        #expect(byStatistic[.minimum]?.value == 10)
        #expect(byStatistic[.maximum]?.value == 50)
        #expect(byStatistic[.mean]?.value == 30)
        #expect(reports.allSatisfy { $0.atSeconds == 600 && $0.count == 5 })
        // A device that goes quiet still gets its window closed by flush.
        #expect(reporter.flush(atSeconds: 1100).isEmpty)
        let last = reporter.flush(atSeconds: 1200)
        #expect(last.map(\.value) == [60, 60, 60])
        #expect(last.first?.atSeconds == 900)
    }

    @Test func nonFiniteValuesAreReportedNotAggregated() {
        var reporter = ChannelReporter(mode: .aggregate(intervalSeconds: 60))
        let nan = reporter.offer(.nan, atSeconds: 1)
        #expect(nan.count == 1 && nan[0].statistic == .sample && nan[0].value.isNaN)
        _ = reporter.offer(5, atSeconds: 2)
        let closed = reporter.offer(7, atSeconds: 61)
        #expect(closed.map(\.value) == [5, 5, 5])
    }
}

@Suite("ContactDebouncer")
struct ContactDebouncerTests {
    let ms: UInt64 = 1_000_000

    @Test func bounceInsideTheWindowIsIgnored() {
        var door = ContactDebouncer(initialState: false, debounceNanoseconds: 50 * ms)
        #expect(door.observe(true, atNanoseconds: 0) == nil)
        #expect(door.observe(false, atNanoseconds: 10 * ms) == nil)  // bounced back
        #expect(door.candidate == nil)
        #expect(door.settle(atNanoseconds: 100 * ms) == nil)
        #expect(door.state == false)
    }

    @Test func aStateThatHoldsIsAccepted() {
        var door = ContactDebouncer(initialState: false, debounceNanoseconds: 50 * ms)
        #expect(door.observe(true, atNanoseconds: 1_000 * ms) == nil)
        #expect(door.deadlineNanoseconds == 1_050 * ms)
        #expect(door.settle(atNanoseconds: 1_049 * ms) == nil)
        #expect(door.settle(atNanoseconds: 1_050 * ms) == true)
        #expect(door.state == true)
        #expect(door.deadlineNanoseconds == nil)
    }

    @Test func zeroDebounceAcceptsAtOnce() {
        var line = ContactDebouncer(initialState: true, debounceNanoseconds: 0)
        #expect(line.observe(false, atNanoseconds: 5) == false)
        #expect(line.observe(false, atNanoseconds: 6) == nil)
    }
}
