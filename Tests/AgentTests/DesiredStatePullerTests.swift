import Clocks
import Foundation
import Synchronization
import Testing
import Uplink
@testable import Agent

/// A receiver that answers each pull with the next of `answers` (then "nothing new") and keeps
/// the applied versions each pull carried.
final class ScriptedDesiredStateSource: DesiredStateSource {
    let answers: Mutex<[DesiredStatePullOutcome]>
    let queries = Mutex<[[String: UInt64]]>([])

    init(_ answers: [DesiredStatePullOutcome]) { self.answers = Mutex(answers) }

    func pullDesiredState(deviceID: DeviceID, applied: [String: UInt64]) async -> (outcome: DesiredStatePullOutcome, wireBytes: Int) {
        queries.withLock { $0.append(applied) }
        return (answers.withLock { $0.isEmpty ? .nothingNew : $0.removeFirst() }, 181)
    }
}

@Suite("The desired-state puller on a simulated pole")
struct DesiredStatePullerTests {
    typealias City = CityFixture

    func puller(_ pole: Pole, _ source: ScriptedDesiredStateSource, _ trigger: UplinkTrigger) throws -> DesiredStatePuller {
        DesiredStatePuller(deviceID: try DeviceID("p"), source: source, applier: City.applier(pole, keys: try City.keysDirectory()),
                           trigger: trigger, pollInterval: .seconds(3 * 3600), clock: SimulatedClock(), timeSource: pole.clock,
                           logger: silentLogger)
    }

    @Test func aPulledDocumentIsAppliedItsBytesCountAndTheNextPullCarriesItsVersion() async throws {
        let clock = LightingTestClock("2025-12-10T20:00:00Z")
        let pole = try await Pole.make(clock: clock)
        let trigger = UplinkTrigger()
        let source = ScriptedDesiredStateSource([.documents([City.schedule(version: 4, level: 30, issued: "2025-12-10T19:00:00Z")])])
        let puller = try puller(pole, source, trigger)
        #expect(await puller.pullOnce() == nil)
        #expect(pole.events("downlink.applied").count == 1)
        #expect(await puller.pullOnce() == nil)
        #expect(source.queries.withLock { $0 } == [[:], ["scheduler": 4]])
        #expect(trigger.takePullBytes() == 2 * 181)
        #expect(trigger.takePullBytes() == 0)
    }

    @Test func aRefusedDocumentServedAgainIsNotAppliedAgain() async throws {
        let clock = LightingTestClock("2025-12-10T20:00:00Z")
        let pole = try await Pole.make(clock: clock)
        let tooLong = City.override(version: 2, level: 80, from: "2025-12-10T19:30:00Z", hours: 20)
        let source = ScriptedDesiredStateSource([.documents([tooLong]), .documents([tooLong]), .documents([tooLong])])
        let puller = try puller(pole, source, UplinkTrigger())
        for _ in 0..<3 { #expect(await puller.pullOnce() == nil) }
        #expect(pole.events("downlink.refused").count == 1, "one refusal event, not one per poll")
    }

    @Test func aFailedPullAsksForTheReceiversWaitOrBacksOff() async throws {
        let pole = try await Pole.make(clock: LightingTestClock("2025-12-10T20:00:00Z"))
        let source = ScriptedDesiredStateSource([.failed(reason: "HTTP 503", retryAfter: .seconds(5)), .failed(reason: "down", retryAfter: nil)])
        let puller = try puller(pole, source, UplinkTrigger())
        #expect(await puller.pullOnce() == .some(.seconds(5)))
        #expect(await puller.pullOnce() == .some(nil))
        #expect(DesiredStatePuller.backoff(failures: 1, cap: .seconds(3600)) == .seconds(30))
        #expect(DesiredStatePuller.backoff(failures: 3, cap: .seconds(3600)) == .seconds(120))
        #expect(DesiredStatePuller.backoff(failures: 500, cap: .seconds(3600)) == .seconds(3600))
    }
}
