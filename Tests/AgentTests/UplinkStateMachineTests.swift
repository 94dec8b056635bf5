import Foundation
import Testing
import Clocks
import TestSupport
import Uplink
@testable import Agent

/// Every transition of the uplink loop, without I/O: no spool, no clock, no network, no sleeping.
@Suite("Uplink state machine")
struct UplinkStateMachineTests {
    typealias Machine = UplinkStateMachine

    static let start = MonotonicInstant(sinceOrigin: .seconds(1000))
    static func at(_ seconds: Double) -> MonotonicInstant { start + .milliseconds(Int64(seconds * 1000)) }

    static var configuration: UplinkConfiguration {
        var configuration = UplinkConfiguration(url: URL(string: "https://ingest.example/v1/batches")!)
        configuration.batchInterval = .seconds(60)
        configuration.maxBatchRecords = 100
        configuration.initialBackoff = .seconds(2)
        configuration.maxBackoff = .seconds(300)
        return configuration
    }

    /// A machine that read an empty ledger at `start`.
    static func machine() -> Machine {
        var machine = Machine(configuration: configuration, now: start)
        machine.ledgerLoaded(inFlightFirstSpoolSequence: nil, now: start)
        return machine
    }

    func tick(_ machine: inout Machine, at seconds: Double, sync: Bool = false, committed: Int64 = 0, inFlight: Bool = false,
              budgetExhausted: Bool = false) -> Machine.TickAction {
        machine.tick(now: Self.at(seconds), syncRequested: sync, highestCommitted: committed, batchInFlight: inFlight,
                     budgetExhausted: budgetExhausted, untilNextDay: .seconds(3600))
    }

    /// Builds batch `sequence` (spool records through `last`) and sends it at `seconds`.
    func send(_ machine: inout Machine, sequence: UInt64 = 1, last: Int64 = 10, records: Int = 10, at seconds: Double) {
        #expect(machine.built(.batch(sequence: sequence, lastSpoolSequence: last, recordCount: records), now: Self.at(seconds)) == .send)
        #expect(machine.state == .sending)
    }

    func deliver(_ machine: inout Machine, _ outcome: DeliveryOutcome, at seconds: Double, committed: Int64 = 10,
                 stopping: Bool = false) -> Machine.DeliveryAction {
        var random = SeededRandom(seed: UInt64(machine.failures) &+ 12)
        return machine.delivered(outcome, now: Self.at(seconds), highestCommitted: committed, stopping: stopping, using: &random)
    }

    @Test func statesShowAsTheStatusWordsOfLampctl() {
        #expect([Machine.State.idle, .sending, .backingOff, .rejected, .capReached, .noKey, .storageError].map(\.rawValue)
            == ["idle", "sending", "backing-off", "rejected", "cap-reached", "no-key", "storage-error"])
    }

    @Test func idleWaitsForTheWindowThenBuildsAndAnEmptySpoolIsIdle() {
        var machine = Self.machine()
        #expect(tick(&machine, at: 0) == .wait(Machine.idleCheck))
        #expect(tick(&machine, at: 57.5) == .wait(.milliseconds(2500)))
        #expect(tick(&machine, at: 59.999) == .wait(Machine.shortestWait))
        #expect(tick(&machine, at: 60) == .buildBatch)
        #expect(machine.built(.spoolEmpty(highestCommitted: 0), now: Self.at(60)) == .answerSync)
        #expect(machine.state == .idle)
        // The window starts again.
        #expect(tick(&machine, at: 61) == .wait(Machine.idleCheck))
    }

    @Test func aFullBatchAnInFlightBatchOrASyncIsDueAtOnce() {
        var machine = Self.machine()
        #expect(tick(&machine, at: 1, committed: 99) == .wait(Machine.idleCheck))
        #expect(tick(&machine, at: 1, committed: 100) == .buildBatch)
        #expect(tick(&machine, at: 1, inFlight: true) == .buildBatch)
        #expect(tick(&machine, at: 1, sync: true) == .buildBatch)
        var restarted = Machine(configuration: Self.configuration, now: Self.start)
        restarted.ledgerLoaded(inFlightFirstSpoolSequence: 11, now: Self.start)
        #expect(tick(&restarted, at: 0) == .buildBatch)
    }

    @Test func anUrgentRecordWakesItUntilItIsSent() {
        var machine = Self.machine()
        machine.urgentRecorded(through: 5)
        #expect(tick(&machine, at: 1, committed: 5) == .buildBatch)
        send(&machine, last: 5, records: 5, at: 1)
        #expect(deliver(&machine, .acknowledged(duplicate: false, gap: nil), at: 2, committed: 5) == .acknowledge(backlog: false))
        #expect(machine.state == .idle)
        #expect(tick(&machine, at: 3, committed: 5) == .wait(Machine.idleCheck))
    }

    @Test func failuresBackOffWithJitterAndRetryAfterIsAFloor() {
        var machine = Self.machine()
        #expect(tick(&machine, at: 60) == .buildBatch)
        send(&machine, at: 60)
        guard case .retry(let first, log: true) = deliver(&machine, .retry(reason: "timeout", retryAfter: nil), at: 61) else {
            Issue.record("not a retry"); return
        }
        #expect(first >= .zero && first <= .seconds(2))
        #expect(machine.state == .backingOff && machine.failures == 1)
        // Due (the batch is in flight), but not before the backoff.
        if first > Machine.shortestWait {
            #expect(tick(&machine, at: 61, inFlight: true) == .wait(max(Machine.shortestWait, min(Machine.idleCheck, first))))
        }
        #expect(tick(&machine, at: 63.001, inFlight: true) == .buildBatch)
        send(&machine, at: 63.001)
        guard case .retry(let second, log: false) = deliver(&machine, .retry(reason: "busy", retryAfter: .seconds(120)), at: 64) else {
            Issue.record("not a retry"); return
        }
        #expect(second == .seconds(120) && machine.failures == 2)
        #expect(tick(&machine, at: 183, inFlight: true) == .wait(.seconds(1)))
        #expect(tick(&machine, at: 184, inFlight: true) == .buildBatch)
        // Every tenth failure is logged again.
        for failures in 3...10 {
            send(&machine, at: 184)
            let action = deliver(&machine, .retry(reason: "down", retryAfter: nil), at: 184)
            guard case .retry(_, let log) = action else { Issue.record("\(action)"); return }
            #expect(log == (failures == 10))
        }
    }

    @Test func syncOverridesABackoffButNotARefusal() {
        var machine = Self.machine()
        send(&machine, at: 0)
        _ = deliver(&machine, .retry(reason: "busy", retryAfter: .seconds(600)), at: 0)
        #expect(tick(&machine, at: 1, inFlight: true) == .wait(Machine.idleCheck))
        #expect(tick(&machine, at: 1, sync: true, inFlight: true) == .buildBatch)
        send(&machine, at: 1)
        #expect(deliver(&machine, .rejected(status: 401, code: "unknown-key", message: "enrol it"), at: 1) == .keepRejected(raiseAlarm: true))
        #expect(machine.state == .rejected)
        #expect(tick(&machine, at: 2, sync: true, inFlight: true) == .wait(Machine.idleCheck))
        // A refusal waits for the longest backoff.
        #expect(tick(&machine, at: 301, inFlight: true) == .buildBatch)
    }

    @Test func oneRefusalCodeRaisesOneAlarmAndAnAcknowledgementForgetsIt() {
        var machine = Self.machine()
        let refusal = DeliveryOutcome.rejected(status: 401, code: "unknown-key", message: "enrol it")
        for (code, alarm) in [("unknown-key", true), ("unknown-key", false), ("bad-signature", true)] {
            send(&machine, at: 0)
            let outcome = code == "unknown-key" ? refusal : .rejected(status: 403, code: code, message: "no")
            #expect(deliver(&machine, outcome, at: 0) == .keepRejected(raiseAlarm: alarm))
        }
        #expect(machine.failures == 3)
        send(&machine, at: 0)
        #expect(deliver(&machine, .acknowledged(duplicate: true, gap: nil), at: 0) == .acknowledge(backlog: false))
        #expect(machine.failures == 0)
        send(&machine, sequence: 2, at: 0)
        #expect(deliver(&machine, refusal, at: 0) == .keepRejected(raiseAlarm: true))
    }

    @Test func aBatchRefusedAsMalformedThreeTimesIsSetAside() {
        var machine = Self.machine()
        let malformed = DeliveryOutcome.rejected(status: 400, code: "malformed-payload", message: "bad")
        for _ in 1..<Machine.refusalsBeforeSettingAside {
            send(&machine, sequence: 1, at: 0)
            #expect(deliver(&machine, malformed, at: 0) != .setAside)
        }
        send(&machine, sequence: 1, at: 0)
        #expect(deliver(&machine, malformed, at: 0) == .setAside)
        // The copy could not be written: the batch stays in flight, rejected.
        #expect(machine.setAsideFinished(succeeded: false, code: "malformed-payload", now: Self.at(0)) == .keepRejected(raiseAlarm: false))
        #expect(machine.state == .rejected)
        send(&machine, sequence: 1, at: 0)
        #expect(deliver(&machine, malformed, at: 0) == .setAside)
        #expect(machine.setAsideFinished(succeeded: true, code: "malformed-payload", now: Self.at(0)) == .goOn)
        #expect(machine.state == .sending && machine.failures == 0)
        // The next batch goes out at once; its refusals count afresh.
        #expect(tick(&machine, at: 0, committed: 20) == .buildBatch)
        send(&machine, sequence: 2, last: 20, at: 0)
        #expect(deliver(&machine, malformed, at: 0, committed: 20) == .keepRejected(raiseAlarm: false))
        // Other 400s (a proxy's broken zlib) are never set aside.
        for _ in 0..<5 {
            send(&machine, sequence: 3, last: 20, at: 0)
            #expect(deliver(&machine, .rejected(status: 400, code: "malformed-body", message: "zlib"), at: 0, committed: 20) != .setAside)
        }
    }

    @Test func aBacklogDrainsWithoutWaitingForTheWindow() {
        var machine = Self.machine()
        send(&machine, last: 100, records: 100, at: 0)
        #expect(deliver(&machine, .acknowledged(duplicate: false, gap: nil), at: 0, committed: 250) == .acknowledge(backlog: true))
        #expect(machine.state == .sending)
        #expect(tick(&machine, at: 0, committed: 250) == .buildBatch)
        send(&machine, sequence: 2, last: 200, records: 100, at: 0)
        #expect(deliver(&machine, .acknowledged(duplicate: false, gap: nil), at: 0, committed: 250) == .acknowledge(backlog: true))
        send(&machine, sequence: 3, last: 250, records: 50, at: 0)
        #expect(deliver(&machine, .acknowledged(duplicate: false, gap: nil), at: 0, committed: 250) == .acknowledge(backlog: false))
        #expect(machine.state == .idle)
    }

    @Test func theDailyCapHoldsOrdinaryBatchesButNotUrgentOnesOrASync() {
        var machine = Self.machine()
        #expect(tick(&machine, at: 60, budgetExhausted: true) == .waitForBudget(Machine.idleCheck))
        #expect(machine.state == .capReached)
        let nearMidnight = machine.tick(now: Self.at(60), syncRequested: false, highestCommitted: 0, batchInFlight: false,
                                        budgetExhausted: true, untilNextDay: .seconds(2))
        #expect(nearMidnight == .waitForBudget(.seconds(2)))
        #expect(tick(&machine, at: 60, sync: true, budgetExhausted: true) == .buildBatch)
        machine.urgentRecorded(through: 3)
        #expect(tick(&machine, at: 60, committed: 3, budgetExhausted: true) == .buildBatch)
    }

    @Test func buildFailuresBackOffAndShowWhy() {
        var machine = Self.machine()
        for (state, failures) in [(Machine.State.noKey, 1), (.storageError, 2), (.backingOff, 3)] {
            #expect(machine.built(.failed(state), now: Self.at(0)) == .answerSync)
            #expect(machine.state == state && machine.failures == failures)
        }
        // A payload that cannot be built keeps the state.
        #expect(machine.built(.failed(nil), now: Self.at(0)) == .answerSync)
        #expect(machine.state == .backingOff && machine.failures == 4)
        // The ceiling after 4 failures is 16 s: due at once for a sync, which overrides the backoff.
        #expect(tick(&machine, at: 15, committed: 100) == .wait(.seconds(1)))
        #expect(tick(&machine, at: 16, committed: 100) == .buildBatch)
        #expect(tick(&machine, at: 1, sync: true) == .buildBatch)
    }

    @Test func anUnreadableLedgerIsAStorageErrorReadAgainLater() {
        var machine = Machine(configuration: Self.configuration, now: Self.start)
        #expect(machine.ledgerUnreadable() == Machine.ledgerRetry)
        #expect(machine.state == .storageError)
    }

    @Test func stoppingKeepsAnUndeliveredBatchInFlight() {
        var machine = Self.machine()
        send(&machine, at: 0)
        #expect(deliver(&machine, .retry(reason: "cancelled", retryAfter: nil), at: 0, stopping: true) == .stop)
        #expect(deliver(&machine, .acknowledged(duplicate: false, gap: nil), at: 0, stopping: true) == .acknowledge(backlog: false))
    }
}
