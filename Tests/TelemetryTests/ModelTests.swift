import Foundation
import Testing
@testable import Telemetry
import Clocks

@Suite("Telemetry model")
struct ModelTests {
    @Test("SenML channel names: allowed characters, must start with a letter or digit")
    func channelNames() throws {
        for good in ["lamp1/power", "cabinet.door", "a", "9v", "x:y-z_w"] {
            #expect(ChannelName(rawValue: good) != nil, "\(good)")
        }
        for bad in ["", "-lead", "/lead", "with space", "ümlaut", "semi;colon", String(repeating: "a", count: 129)] {
            #expect(ChannelName(rawValue: bad) == nil, "\(bad)")
        }
        let error = #expect(throws: TelemetryError.self) { try ChannelName("bad name") }
        #expect(error?.reason == .invalidChannelName)
    }

    @Test("Units: SenML primaries pass, Wh/kWh are secondary and convert to joules")
    func units() throws {
        #expect(try SenMLUnit("W").isPrimary)
        #expect(try SenMLUnit("J").isPrimary)
        let kWh = try SenMLUnit("kWh")
        #expect(!kWh.isPrimary)
        #expect(kWh.primaryConversion.primary == .joule)
        #expect(kWh.primaryConversion.scale == 3_600_000)
        #expect(SenMLUnit.wattHour.primaryConversion.scale == 3600)
        let error = #expect(throws: TelemetryError.self) { try SenMLUnit("watts") }
        #expect(error?.reason == .unknownUnit)
    }

    @Test("A reading taken with an unsynchronised clock carries the flag")
    func unsynchronisedClock() throws {
        let time = FakeTimeSource(synchronised: false).now()
        let r = try reading(1, time: time)
        #expect(r.quality.contains(.clockUnsynchronised))
        let synced = try reading(1, time: FakeTimeSource().now())
        #expect(synced.quality == .good)
    }

    @Test("The system time source reads a boot id and sane clocks")
    func systemTimeSource() {
        let source = SystemTimeSource()
        let now = source.now()
        #expect(now.bootID != Timestamp.unknownBootID)
        #expect(now.bootNanoseconds > 0)
        #expect(now.utcNanoseconds > 1_600_000_000_000_000_000)
        _ = SystemTimeSource.isKernelClockSynchronised()  // must not crash; value depends on the machine
    }
}
