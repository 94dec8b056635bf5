import ControlProtocol
import FoundationEssentials
import Logging
import ServiceLifecycle
import Synchronization
import Telemetry
import Uplink
import Clocks
import SystemSupport

/// Sends the spool upstream as signed batches, one at a time and in order, and deletes records
/// from the spool only once the receiver acknowledged the batch holding them (docs/uplink.md §6).
///
/// - A batch is signed once: its bytes and the hash chain are stored (`UplinkLedger`) before it
///   is sent, and it is re-sent byte for byte until acknowledged, across restarts.
/// - Failed attempts back off exponentially with full jitter, honouring `Retry-After`.
/// - Alarm events (`UplinkTrigger.urgent`) and `lampctl sync now` send at once.
/// - `max_bytes_per_day` pauses ordinary sending until the next UTC day.
/// - The device key is read for each new batch, so `lampctl identity rotate` takes effect
///   without a restart; without a key the uplink waits (the lamp and the spool carry on).
///
/// When to send, wait, back off, acknowledge or set aside is decided by `UplinkStateMachine`
/// (pure, tested without I/O); this service performs its actions.
public final class UplinkService: Service, Sendable {
    private let configuration: UplinkConfiguration
    private let stateDirectory: String
    private let deviceID: DeviceID
    private let spool: Spool
    private let transport: any BatchTransport
    private let trigger: UplinkTrigger
    private let sink: any TelemetrySink
    private let timeSource: any TimeSource
    private let heartbeats: LoopHeartbeats
    private let remote: RemoteSettings?
    private let logger: Logger
    private let shared: Mutex<Shared>

    private struct Shared {
        var status: UplinkStatus
        /// Sync requests answered so far (`UplinkTrigger.sync` numbers).
        var syncsAnswered = 0
        /// The last storage alarm raised by `save`, so that a failing disk raises it once.
        var lastStorageError: String?
    }

    /// Name of the loop in `LoopHeartbeats`.
    static let loopName = "uplink"

    public init(configuration: UplinkConfiguration, stateDirectory: String, deviceID: DeviceID, spool: Spool,
                transport: any BatchTransport, trigger: UplinkTrigger, sink: any TelemetrySink, timeSource: any TimeSource,
                heartbeats: LoopHeartbeats, remote: RemoteSettings? = nil, logger: Logger) {
        self.configuration = configuration
        self.remote = remote
        self.stateDirectory = stateDirectory
        self.deviceID = deviceID
        self.spool = spool
        self.transport = transport
        self.trigger = trigger
        self.sink = sink
        self.timeSource = timeSource
        self.heartbeats = heartbeats
        self.logger = logger
        self.shared = Mutex(Shared(status: UplinkStatus(
            url: configuration.url.absoluteString, state: UplinkStateMachine.State.idle.rawValue, consecutiveFailures: 0, acknowledgedSequence: 0,
            batchesSent: 0, recordsSent: 0, bytesToday: 0, maxBytesPerDay: configuration.maxBytesPerDay)))
    }

    /// The daily byte cap in effect: the city's (`RemoteSettings`) or lampd.toml's.
    private var maxBytesPerDay: Int? { remote?.maxBytesPerDay ?? configuration.maxBytesPerDay }

    /// The uplink as `lampctl status` shows it.
    public func status() -> UplinkStatus {
        var status = shared.withLock { $0.status }
        status.maxBytesPerDay = maxBytesPerDay
        // Desired-state pulls the loop has not taken into the budget yet.
        status.bytesToday = status.bytesToday.addingReportingOverflow(trigger.pendingPullBytes).partialValue
        return status
    }

    /// Sends now and waits (up to `timeout`) until the spool is drained or an attempt failed.
    /// Returns the status at that moment.
    public func syncNow(timeout: Duration) async -> UplinkStatus {
        let number = trigger.sync()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if shared.withLock({ $0.syncsAnswered >= number }) { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return status()
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
        await transport.shutdown()
    }

    // MARK: - the loop

    /// Performs what `UplinkStateMachine` decides: the waits, the spool, the ledger, the transport,
    /// the alarms and the status.
    private func loop() async {
        let maximumSilence = (configuration.connectTimeout + configuration.requestTimeout + .seconds(60)).seconds
        heartbeats.register(Self.loopName, maximumSilenceSeconds: maximumSilence, atSeconds: heartbeats.nowSeconds)
        defer { heartbeats.unregister(Self.loopName) }
        let clock = heartbeats.clock
        var random = SystemRandomNumberGenerator()
        var machine = UplinkStateMachine(configuration: configuration, now: clock.now)

        var ledger: UplinkLedger
        while true {
            do {
                ledger = try UplinkLedger.load(directory: stateDirectory)
                break
            } catch {
                let wait = machine.ledgerUnreadable()
                let problem = storageProblem("cannot be read", error)
                fail(machine.state, problem, alarm: (Self.storageAlarmKind, problem))
                await trigger.wakeup.wait(upTo: wait, on: clock)
                if Task.isCancelled { return }
            }
        }
        machine.ledgerLoaded(inFlightFirstSpoolSequence: ledger.inFlight?.firstSpoolSequence, now: clock.now)
        update(ledger) { _ in }

        while !Task.isCancelled {
            heartbeats.beat(Self.loopName, atSeconds: heartbeats.nowSeconds)
            let pulled = trigger.takePullBytes()
            if pulled > 0 {
                ledger.budget.add(pulled, at: timeSource.now().date)
                update(ledger) { _ in }
            }
            if trigger.takeUrgent() {
                machine.urgentRecorded(through: await spool.flush())
            }
            let syncRequested = trigger.latestSync > shared.withLock { $0.syncsAnswered }
            if syncRequested { _ = await spool.flush() }
            let wallNow = timeSource.now().date
            machine.batchInterval = remote?.batchInterval ?? configuration.batchInterval
            let tick = machine.tick(
                now: clock.now, syncRequested: syncRequested, highestCommitted: spool.highestCommittedSequence,
                batchInFlight: ledger.inFlight != nil,
                budgetExhausted: ledger.budget.isExhausted(cap: maxBytesPerDay, at: wallNow),
                untilNextDay: DailyByteBudget.untilNextDay(from: wallNow))
            switch tick {
            case .wait(let duration):
                await trigger.wakeup.wait(upTo: duration, on: clock)
                continue
            case .waitForBudget(let duration):
                show(machine)
                answerSync()
                await trigger.wakeup.wait(upTo: duration, on: clock)
                continue
            case .buildBatch:
                break
            }

            // The batch: the one in flight, or a new one from the spool.
            let built = await nextBatch(&ledger)
            switch machine.built(built.result, now: clock.now) {
            case .answerSync:
                if case .spoolEmpty = built.result { show(machine) }
                answerSync()
                continue
            case .send:
                break
            }
            guard let (signed, recordCount) = built.batch else { continue }
            shared.withLock {
                $0.status.state = machine.state.rawValue
                $0.status.lastAttempt = wallNow.formatted(.iso8601)
            }
            let (outcome, wireBytes) = await transport.deliver(signed, deviceID: deviceID.rawValue)
            var action = machine.delivered(outcome, now: clock.now, highestCommitted: spool.highestCommittedSequence,
                                           stopping: Task.isCancelled, using: &random)
            if action == .stop { break }   // stopping: the batch stays in flight
            ledger.budget.add(wireBytes, at: timeSource.now().date)
            if action == .setAside, case .rejected(let status, let code, let message) = outcome {
                let setAside = await setAside(signed, recordCount: recordCount, ledger: &ledger, reason: "HTTP \(status) \(code): \(message)")
                action = machine.setAsideFinished(succeeded: setAside, code: code, now: clock.now)
            }
            await perform(action, outcome: outcome, batch: signed, recordCount: recordCount, wireBytes: wireBytes,
                    machine: machine, ledger: &ledger, wallNow: wallNow)
        }
    }

    /// Carries out what the state machine made of the receiver's answer to `batch`.
    private func perform(_ action: UplinkStateMachine.DeliveryAction, outcome: DeliveryOutcome, batch signed: SignedBatch,
                         recordCount: Int, wireBytes: Int, machine: UplinkStateMachine, ledger: inout UplinkLedger, wallNow: Date) async {
        switch (action, outcome) {
        case (.acknowledge(let backlog), .acknowledged(let duplicate, let gap)):
            do {
                try await spool.acknowledge(throughSequence: signed.lastSpoolSequence)
            } catch {
                // The receiver has the batch; the records stay in the spool and are sent again in a
                // new batch after a restart, which the receiver stores again (a duplicate reading, not a loss).
                logger.error("acknowledged batch's records could not be deleted from the spool", metadata: ["error": "\(error)"])
            }
            ledger.acknowledgedSequence = signed.sequence
            ledger.inFlight = nil
            ledger.lastAcknowledgedUTCNanoseconds = timeSource.now().utcNanoseconds
            await save(ledger)
            trigger.pull.signal()
            if let gap {
                logger.warning("receiver reports a gap before this batch", metadata: ["sequence": "\(signed.sequence)", "gap": "\(gap)"])
            }
            logger.debug("batch acknowledged", metadata: [
                "sequence": "\(signed.sequence)", "records": "\(recordCount)", "bytes": "\(wireBytes)", "duplicate": "\(duplicate)"])
            update(ledger) { status in
                status.state = machine.state.rawValue
                status.lastError = nil
                status.consecutiveFailures = 0
                status.batchesSent += 1
                status.recordsSent += recordCount
                status.lastSuccessfulUpload = wallNow.formatted(.iso8601)
            }
            if !backlog { answerSync() }

        case (.retry(let wait, let log), .retry(let reason, _)):
            await save(ledger)
            if log {
                logger.warning("batch not delivered; retrying", metadata: [
                    "sequence": "\(signed.sequence)", "reason": "\(reason)", "failures": "\(machine.failures)", "retryIn": "\(wait)"])
            }
            update(ledger) { status in
                status.state = machine.state.rawValue
                status.lastError = reason
                status.consecutiveFailures = machine.failures
            }
            answerSync()

        case (.keepRejected(let raiseAlarm), .rejected(let status, let code, let message)):
            await save(ledger)
            let text = "receiver refused batch \(signed.sequence) (HTTP \(status) \(code)): \(message)"
            if raiseAlarm {
                logger.critical("batch rejected by the receiver; kept in the spool", metadata: ["sequence": "\(signed.sequence)", "code": "\(code)", "message": "\(message)"])
                sink.record(Event(kind: "uplink.rejected", severity: .alarm, value: .string(code), time: timeSource.now(), message: text))
            }
            update(ledger) { s in
                s.state = machine.state.rawValue
                s.lastError = text
                s.consecutiveFailures = machine.failures
            }
            answerSync()

        case (.goOn, _):
            update(ledger) { s in
                s.state = machine.state.rawValue
                s.consecutiveFailures = 0
            }

        default:
            // `delivered` answers each outcome with its own action; `stop` and `setAside` are handled by the loop.
            break
        }
    }

    /// The batch in flight (re-sent identically), else a new batch of the oldest spooled records,
    /// signed and stored durably before it is sent; `batch` is nil when there is none (`result` says why).
    private func nextBatch(_ ledger: inout UplinkLedger) async
        -> (result: UplinkStateMachine.BuildResult, batch: (SignedBatch, Int)?) {
        func ready(_ batch: SignedBatch, _ recordCount: Int) -> (UplinkStateMachine.BuildResult, (SignedBatch, Int)?) {
            (.batch(sequence: batch.sequence, lastSpoolSequence: batch.lastSpoolSequence, recordCount: recordCount), (batch, recordCount))
        }
        if let inFlight = ledger.inFlight {
            if let batch = ledger.loadInFlightBatch(directory: stateDirectory) {
                return ready(batch, inFlight.recordCount)
            }
            // The file is gone or damaged. Its sequence is used up (the receiver may hold it), so the
            // records go out again in the next batch; the receiver sees a gap, no reading is lost.
            let message = "the batch in flight (sequence \(inFlight.sequence)) was missing or damaged on disk; its records are sent again in batch \(inFlight.sequence + 1)"
            logger.error("\(message)")
            sink.record(Event(kind: "uplink.inflight-lost", severity: .warning, time: timeSource.now(), message: message))
            ledger.inFlight = nil
        }
        let records: [SpooledRecord]
        do {
            records = try await spool.oldestPending(limit: configuration.maxBatchRecords)
        } catch {
            fail(.backingOff, "spool: \(error)", alarm: nil)
            return (.failed(.backingOff), nil)
        }
        guard !records.isEmpty else { return (.spoolEmpty(highestCommitted: spool.highestCommittedSequence), nil) }
        let key: DeviceKey
        do {
            key = try DeviceKeyStore(stateDirectory: URL(fileURLWithPath: stateDirectory)).load()
        } catch {
            fail(.noKey, "\(error.message)", alarm: ("uplink.key-missing", "no device key to sign batches with: \(error.message) — run `lampctl identity init`"))
            return (.failed(.noKey), nil)
        }
        guard let payload = try? BatchBuilder(deviceID: deviceID).build(records: records) else { return (.failed(nil), nil) }
        let link = ledger.nextLink(kidHex: key.publicKey.kidHex)
        let signed = BatchSigner(identity: DeviceIdentity(deviceID: deviceID, key: key))
            .sign(payload: payload, sequence: link.sequence, previousHash: link.previousHash,
                  spoolBacklog: spoolBacklog(after: records[records.count - 1].sequence))
        var next = ledger
        next.recordSigned(signed, kidHex: key.publicKey.kidHex, recordCount: records.count)
        do {
            try await UplinkLedger.saveBatch(signed.bytes, directory: stateDirectory)
            try await next.save(directory: stateDirectory)
        } catch {
            let problem = storageProblem("cannot be written", error)
            fail(.storageError, problem, alarm: (Self.storageAlarmKind, problem))
            return (.failed(.storageError), nil)
        }
        ledger = next
        shared.withLock { $0.status.kid = key.publicKey.kidHex }
        return ready(signed, records.count)
    }

    /// Records still in the spool after the one numbered `lastInBatch` (the batch being signed): the
    /// `spool backlog` header (docs/uplink.md §2). From the committed sequence numbers, so it costs
    /// nothing per batch (counting rows scanned the whole spool for every batch of a long drain);
    /// records the full-spool policy dropped meanwhile are still counted (an upper bound then).
    private func spoolBacklog(after lastInBatch: Int64) -> UInt64 {
        UInt64(clamping: spool.highestCommittedSequence.subtractingReportingOverflow(lastInBatch).partialValue)
    }

    /// How many times in a row the receiver may refuse one batch as malformed before it is set aside.
    static let refusalsBeforeSettingAside = UplinkStateMachine.refusalsBeforeSettingAside
    /// At most this many set-aside batches are kept: beyond them the receiver probably refuses
    /// everything (a version mismatch), and the batch stays in flight, its records in the bounded
    /// spool, until a technician looks (the disk stays bounded).
    static let maximumSetAsideBatches = 10

    /// A batch the receiver refused as malformed several times in a row will be refused forever (the
    /// bytes do not change), and holding it would stop every later reading from going upstream. It
    /// is kept in the state directory as `uplink-refused-<sequence>.cose` (signed, for a technician
    /// or the city to inspect), its records leave the spool, an alarm says so, and the next batch
    /// goes out under the next sequence, so the receiver reports the gap. Returns false (nothing
    /// changed) when the copy cannot be written: then the batch stays in flight.
    private func setAside(_ batch: SignedBatch, recordCount: Int, ledger: inout UplinkLedger, reason: String) async -> Bool {
        let path = FilePaths.join(stateDirectory, "uplink-refused-\(batch.sequence).cose")
        let kept = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory))?
            .filter { $0.hasPrefix("uplink-refused-") && $0.hasSuffix(".cose") }.count ?? 0
        guard kept < Self.maximumSetAsideBatches else {
            logger.error("batch refused as malformed, not set aside: \(kept) refused batches are kept in \(stateDirectory) already")
            return false
        }
        do {
            try await DurableFile.replaceOffPool(path: path, with: batch.bytes)
        } catch {
            let problem = storageProblem("cannot be written", error)
            fail(.storageError, problem, alarm: (Self.storageAlarmKind, problem))
            return false
        }
        do {
            try await spool.acknowledge(throughSequence: batch.lastSpoolSequence)
        } catch {
            logger.error("set-aside batch's records could not be deleted from the spool", metadata: ["error": "\(error)"])
        }
        ledger.inFlight = nil
        await save(ledger)
        let message = "receiver refused batch \(batch.sequence) as malformed \(Self.refusalsBeforeSettingAside) times (\(reason)); "
            + "its \(recordCount) records are kept in \(path), not upstream — the uplink goes on with the next batch"
        logger.critical("\(message)")
        sink.record(Event(kind: "uplink.batch-set-aside", severity: .alarm, value: .string(path), time: timeSource.now(), message: message))
        return true
    }

    // MARK: - helpers

    /// The alarm for it: a storage problem, not an uplink one (issue 11 #17).
    static let storageAlarmKind = "storage.uplink-state"

    /// The alarm text for the uplink's files in the state directory failing: where, why, and that
    /// the receiver and the network are not the cause.
    private func storageProblem(_ what: String, _ error: any Error) -> String {
        "storage: the uplink's state in \(stateDirectory) \(what) (\(error)) — a full disk, a read-only file system "
            + "or a damaged file, not the uplink: batches wait in the spool until it can be written"
    }

    /// Saves the ledger after an answer; a failure is a storage alarm (once per reason), and the
    /// uplink goes on (the worst case after a restart is a batch sent again, which the receiver
    /// acknowledges as a duplicate).
    private func save(_ ledger: UplinkLedger) async {
        do {
            try await ledger.save(directory: stateDirectory)
            shared.withLock { $0.lastStorageError = nil }
        } catch {
            let message = storageProblem("cannot be written", error)
            let first = shared.withLock { s -> Bool in
                defer { s.lastStorageError = message }
                return s.lastStorageError != message
            }
            logger.error("uplink state not saved", metadata: ["error": "\(error)"])
            if first { sink.record(Event(kind: Self.storageAlarmKind, severity: .alarm, time: timeSource.now(), message: message)) }
        }
    }

    private func update(_ ledger: UplinkLedger, _ change: (inout UplinkStatus) -> Void) {
        let now = timeSource.now().date
        shared.withLock { s in
            s.status.acknowledgedSequence = ledger.acknowledgedSequence
            s.status.inFlightSequence = ledger.inFlight?.sequence
            s.status.bytesToday = ledger.budget.used(at: now)
            if s.status.lastSuccessfulUpload == nil, let ns = ledger.lastAcknowledgedUTCNanoseconds {
                s.status.lastSuccessfulUpload = Date(timeIntervalSince1970: Double(ns) / 1e9).formatted(.iso8601)
            }
            if !ledger.kidHex.isEmpty, s.status.kid == nil { s.status.kid = ledger.kidHex }
            change(&s.status)
        }
    }

    private func fail(_ state: UplinkStateMachine.State, _ reason: String, alarm: (kind: String, message: String)?) {
        let first = shared.withLock { s -> Bool in
            let first = s.status.lastError != reason
            s.status.state = state.rawValue
            s.status.lastError = reason
            return first
        }
        if first, let alarm {
            logger.critical("\(alarm.message)")
            sink.record(Event(kind: alarm.kind, severity: .alarm, time: timeSource.now(), message: alarm.message))
        }
    }

    /// Shows the state machine's state in the status.
    private func show(_ machine: UplinkStateMachine) {
        shared.withLock { $0.status.state = machine.state.rawValue }
    }

    /// Marks every sync request made so far as answered.
    private func answerSync() {
        let latest = trigger.latestSync
        shared.withLock { $0.syncsAnswered = max($0.syncsAnswered, latest) }
    }
}
