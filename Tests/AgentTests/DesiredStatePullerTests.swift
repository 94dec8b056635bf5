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
    let waits = Mutex<[Int]>([])

    init(_ answers: [DesiredStatePullOutcome]) { self.answers = Mutex(answers) }

    func pullDesiredState(deviceID: DeviceID, applied: [String: UInt64], waitSeconds: Int) async -> (outcome: DesiredStatePullOutcome, wireBytes: Int) {
        queries.withLock { $0.append(applied) }
        waits.withLock { $0.append(waitSeconds) }
        return (answers.withLock { $0.isEmpty ? .nothingNew : $0.removeFirst() }, 181)
    }
}

@Suite("The desired-state puller on a simulated pole")
struct DesiredStatePullerTests {
    typealias City = CityFixture

    func puller(_ pole: Pole, _ source: ScriptedDesiredStateSource, _ trigger: UplinkTrigger, longPoll: Duration = .zero) throws
        -> DesiredStatePuller
    {
        DesiredStatePuller(deviceID: try DeviceID("p"), source: source, applier: City.applier(pole, keys: try City.keysDirectory()),
                           trigger: trigger, pollInterval: .seconds(3 * 3600), longPoll: longPoll, clock: SimulatedClock(),
                           timeSource: pole.clock, logger: silentLogger)
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

    @Test func withoutALongPollEveryPullAsksForAnAnswerAtOnceAndWaitsThePollInterval() async throws {
        let pole = try await Pole.make(clock: LightingTestClock("2025-12-10T20:00:00Z"))
        let source = ScriptedDesiredStateSource([])
        let puller = try puller(pole, source, UplinkTrigger())
        #expect(await puller.pullOnce() == nil)
        #expect(source.waits.withLock { $0 } == [0])
        #expect(puller.nextWait(heldFor: .seconds(600)) == .seconds(3 * 3600))
    }

    @Test func aLongPollAsksTheReceiverToHoldAndPullsAgainAtOnceAfterAFullHoldOrAnApplied() async throws {
        let pole = try await Pole.make(clock: LightingTestClock("2025-12-10T20:00:00Z"))
        let source = ScriptedDesiredStateSource([.documents([City.schedule(version: 4, level: 30, issued: "2025-12-10T19:00:00Z")])])
        let puller = try puller(pole, source, UplinkTrigger(), longPoll: .seconds(600))
        #expect(await puller.pullOnce() == nil)
        #expect(puller.nextWait(heldFor: .milliseconds(20)) == .zero, "a document applied: ask again at once")
        #expect(await puller.pullOnce() == nil)
        #expect(puller.nextWait(heldFor: .seconds(600)) == .zero, "held the whole wait: ask again at once")
        #expect(source.waits.withLock { $0 } == [600, 600])
    }

    @Test func aReceiverThatDoesNotHoldOrServesOnlyRefusedDocumentsIsNotPulledInATightLoop() async throws {
        let pole = try await Pole.make(clock: LightingTestClock("2025-12-10T20:00:00Z"))
        let tooLong = City.override(version: 2, level: 80, from: "2025-12-10T19:30:00Z", hours: 20)
        let source = ScriptedDesiredStateSource([.documents([tooLong])])
        let puller = try puller(pole, source, UplinkTrigger(), longPoll: .seconds(600))
        #expect(await puller.pullOnce() == nil)
        #expect(puller.nextWait(heldFor: .milliseconds(5)) == .seconds(3 * 3600), "only a refused document came back")
        #expect(await puller.pullOnce() == nil)
        #expect(puller.nextWait(heldFor: .seconds(60)) == .seconds(3 * 3600), "nothing new after 60 s of a 600 s wait")
        #expect(puller.nextWait(heldFor: .seconds(299)) == .seconds(3 * 3600))
        #expect(puller.nextWait(heldFor: .seconds(300)) == .zero)
    }
}
