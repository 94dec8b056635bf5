import Clocks
import Uplink

/// The decisions of the uplink loop, without I/O: when the next batch is due, how long to back
/// off, what an answer means for the spool and the alarms (docs/uplink.md §6).
///
/// `UplinkService` reports events (a tick, the batch it built, the receiver's answer, …) and performs
/// the action each returns (wait, build, send, acknowledge, set aside, raise an alarm); the
/// machine never waits, reads a clock or touches a file, so every transition is tested without
/// I/O (swift-kafka-client's `KafkaProducer.StateMachine` does the same).
struct UplinkStateMachine: Sendable {
    /// What the uplink is doing; `lampctl status` shows the raw value.
    enum State: String, Sendable {
        /// Nothing to send, or waiting for the batch window.
        case idle
        /// A batch is being built or sent, or a backlog drains.
        case sending
        /// The last attempt failed; the next one waits for the backoff.
        case backingOff = "backing-off"
        /// The receiver refused the batch; it is retried after the longest backoff.
        case rejected
        /// `max_bytes_per_day` is used up: only urgent batches and `sync now` leave until UTC midnight.
        case capReached = "cap-reached"
        /// No device key to sign with (`lampctl identity init`).
        case noKey = "no-key"
        /// The uplink's files in the state directory cannot be read or written.
        case storageError = "storage-error"
    }

    /// What `tick` asks for.
    enum TickAction: Equatable, Sendable {
        /// Sleep until the trigger fires or the duration passes, then tick again.
        case wait(Duration)
        /// The day's bytes are used up: answer waiting `sync now` requests, sleep, tick again.
        case waitForBudget(Duration)
        /// Take the batch in flight, or build and sign the next one, and report it with `built`.
        case buildBatch
    }

    /// What the service found when it looked for a batch.
    enum BuildResult: Equatable, Sendable {
        /// A batch is ready (the one in flight, or a new one).
        case batch(sequence: UInt64, lastSpoolSequence: Int64, recordCount: Int)
        /// The spool holds nothing to send; `highestCommitted` is its highest sequence.
        case spoolEmpty(highestCommitted: Int64)
        /// No batch: the spool cannot be read (`backing-off`), no key, the state directory cannot be
        /// written, or the records cannot form a payload (the state stays).
        case failed(State?)
    }

    /// What `built` asks for.
    enum BuildAction: Equatable, Sendable {
        /// Deliver the batch and report the outcome with `delivered`.
        case send
        /// Answer waiting `sync now` requests, then tick again.
        case answerSync
    }

    /// What `delivered` and `setAsideFinished` ask for.
    enum DeliveryAction: Equatable, Sendable {
        /// lampd is stopping and the batch was not delivered: it stays in flight for the next start.
        case stop
        /// Delete the batch's records from the spool and record the acknowledgement; answer waiting
        /// `sync now` requests unless a `backlog` drains on.
        case acknowledge(backlog: Bool)
        /// Keep the batch in flight and try again after `after`; `log` when this failure is worth a
        /// line (the first, then every tenth). Answer waiting `sync now` requests.
        case retry(after: Duration, log: Bool)
        /// Keep the refused batch in flight; raise the `uplink.rejected` alarm when `raiseAlarm` (a
        /// new refusal code). Answer waiting `sync now` requests.
        case keepRejected(raiseAlarm: Bool)
        /// The batch was refused as malformed `refusalsBeforeSettingAside` times in a row: set it
        /// aside and report with `setAsideFinished`.
        case setAside
        /// The batch is set aside: go on with the next one at once.
        case goOn
    }

    /// How many times in a row the receiver may refuse one batch as malformed before it is set aside.
    static let refusalsBeforeSettingAside = 3
    /// Longest sleep between checks, so the loop beats while idle.
    static let idleCheck: Duration = .seconds(5)
    /// Wait before reading an unreadable ledger again.
    static let ledgerRetry: Duration = .seconds(60)
    /// Shortest sleep, so a loop that is due at once still yields.
    static let shortestWait: Duration = .milliseconds(10)

    private var configuration: UplinkConfiguration
    private let backoff: UplinkBackoff

    private(set) var state = State.idle
    /// Failed attempts since the last acknowledgement (or set-aside).
    private(set) var failures = 0
    /// No attempt before this (the backoff).
    private var notBefore: MonotonicInstant
    /// The batch window counts from here.
    private var lastBatchAt: MonotonicInstant
    /// Send again without waiting for the window (a batch in flight, a backlog).
    private var backlog = false
    /// Spool sequence up to which an urgent record waits.
    private var urgentThrough: Int64 = 0
    /// Spool sequence up to which records left the spool (acknowledged or set aside).
    private var acknowledgedSpool: Int64 = 0
    /// The same batch refused as malformed `count` times in a row.
    private var refusals: (sequence: UInt64, count: Int) = (0, 0)
    /// The code of the last refusal, so one refusal raises one alarm.
    private var lastRejectionCode: String?
    /// The batch being sent.
    private var batch: (sequence: UInt64, lastSpoolSequence: Int64, recordCount: Int)?

    init(configuration: UplinkConfiguration, now: MonotonicInstant) {
        self.configuration = configuration
        self.backoff = UplinkBackoff(initial: configuration.initialBackoff, maximum: configuration.maxBackoff)
        self.notBefore = now
        self.lastBatchAt = now
    }

    /// The batch interval in effect (the city may change it: `RemoteSettings`); counts from the last batch.
    var batchInterval: Duration {
        get { configuration.batchInterval }
        set { configuration.batchInterval = newValue }
    }

    // MARK: - events

    /// The ledger cannot be read: wait, then read it again.
    mutating func ledgerUnreadable() -> Duration {
        state = .storageError
        return Self.ledgerRetry
    }

    /// The ledger was read; a batch in flight (from spool sequence `inFlightFirstSpoolSequence`) goes out at once.
    mutating func ledgerLoaded(inFlightFirstSpoolSequence: Int64?, now: MonotonicInstant) {
        notBefore = now
        lastBatchAt = now
        backlog = inFlightFirstSpoolSequence != nil
        acknowledgedSpool = inFlightFirstSpoolSequence.map { max($0, 1) - 1 } ?? 0
    }

    /// An alarm-severity record was spooled, up to spool sequence `through`: send it at once.
    mutating func urgentRecorded(through: Int64) {
        urgentThrough = max(urgentThrough, through)
    }

    /// Whether a batch is due now, and what to do about it.
    /// - Parameters:
    ///   - syncRequested: a `sync now` waits for its answer (it overrides the window, the cap and a
    ///     backoff, though not a refusal's).
    ///   - highestCommitted: the spool's highest committed sequence.
    ///   - budgetExhausted: the day's bytes are used up; `untilNextDay` is the time to UTC midnight.
    mutating func tick(now: MonotonicInstant, syncRequested: Bool, highestCommitted: Int64, batchInFlight: Bool,
                       budgetExhausted: Bool, untilNextDay: Duration) -> TickAction {
        let urgent = urgentThrough > acknowledgedSpool
        let pending = highestCommitted.subtractingReportingOverflow(acknowledgedSpool)
        let due = backlog || batchInFlight || urgent || syncRequested || now - lastBatchAt >= configuration.batchInterval
            || pending.overflow || pending.partialValue >= Int64(configuration.maxBatchRecords)
        let mayOverrideBackoff = syncRequested && failures > 0 && state != .rejected
        guard due, now >= notBefore || mayOverrideBackoff else {
            let untilNext = due ? notBefore - now : configuration.batchInterval - (now - lastBatchAt)
            return .wait(max(Self.shortestWait, min(Self.idleCheck, untilNext)))
        }
        if budgetExhausted, !urgent, !syncRequested {
            state = .capReached
            return .waitForBudget(min(Self.idleCheck, untilNextDay))
        }
        return .buildBatch
    }

    /// The service looked for a batch.
    mutating func built(_ result: BuildResult, now: MonotonicInstant) -> BuildAction {
        switch result {
        case .batch(let sequence, let lastSpoolSequence, let recordCount):
            batch = (sequence, lastSpoolSequence, recordCount)
            state = .sending
            return .send
        case .spoolEmpty(let highestCommitted):
            backlog = false
            lastBatchAt = now
            acknowledgedSpool = max(acknowledgedSpool, highestCommitted)
            urgentThrough = 0
            state = .idle
            return .answerSync
        case .failed(let newState):
            failures += 1
            notBefore = now + backoff.ceiling(afterFailures: failures)
            if let newState { state = newState }
            return .answerSync
        }
    }

    /// The receiver answered (or did not) about the batch of `built`.
    /// - Parameters:
    ///   - highestCommitted: the spool's highest committed sequence (a backlog waits beyond the batch).
    ///   - stopping: lampd is shutting down.
    mutating func delivered(_ outcome: DeliveryOutcome, now: MonotonicInstant, highestCommitted: Int64, stopping: Bool,
                            using random: inout some RandomNumberGenerator) -> DeliveryAction {
        guard let batch else { return .stop }   // `built` comes first; nothing to deliver otherwise
        switch outcome {
        case .retry where stopping:
            return .stop
        case .acknowledged:
            self.batch = nil
            acknowledgedSpool = batch.lastSpoolSequence
            failures = 0
            notBefore = now
            lastBatchAt = now
            backlog = batch.recordCount >= configuration.maxBatchRecords || highestCommitted > batch.lastSpoolSequence
            if !backlog { urgentThrough = 0 }
            lastRejectionCode = nil
            state = backlog ? .sending : .idle
            return .acknowledge(backlog: backlog)
        case .retry(_, let retryAfter):
            failures += 1
            let wait = backoff.wait(afterFailures: failures, retryAfter: retryAfter, using: &random)
            notBefore = now + wait
            state = .backingOff
            return .retry(after: wait, log: failures == 1 || failures.isMultiple(of: 10))
        case .rejected(let status, let code, _):
            failures += 1
            notBefore = now + configuration.maxBackoff
            if DeliveryOutcome.isMalformed(status: status, code: code) {
                refusals = refusals.sequence == batch.sequence ? (batch.sequence, refusals.count + 1) : (batch.sequence, 1)
                if refusals.count >= Self.refusalsBeforeSettingAside { return .setAside }
            }
            return keepRejected(code: code)
        }
    }

    /// The service tried to set the refused batch aside (`succeeded` false: it could not, and the
    /// batch stays in flight).
    mutating func setAsideFinished(succeeded: Bool, code: String, now: MonotonicInstant) -> DeliveryAction {
        guard succeeded, let batch else { return keepRejected(code: code) }
        self.batch = nil
        acknowledgedSpool = batch.lastSpoolSequence
        failures = 0
        notBefore = now
        backlog = true
        state = .sending
        return .goOn
    }

    private mutating func keepRejected(code: String) -> DeliveryAction {
        let raiseAlarm = lastRejectionCode != code
        lastRejectionCode = code
        state = .rejected
        return .keepRejected(raiseAlarm: raiseAlarm)
    }
}
