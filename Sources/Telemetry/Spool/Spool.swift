import FoundationEssentials
import Glibc
import Synchronization
import Clocks
import SystemSupport

/// The on-disk store of readings and events that upstream has not acknowledged yet
/// (DESIGN.md principle 2, "Nothing lost"). Events, alarms and the spool's state are in one SQLite
/// file in WAL mode, `synchronous = FULL`; periodic readings are packed, one frame per group commit,
/// into the append-only telemetry log beside it (`<path>-telemetry/`, see `TelemetryLog`), which
/// writes about a tenth of what SQLite rows did to the flash.
///
/// **Durability contract**
/// - `append(_:)` returns only after the record's group commit is on stable storage (fsync of the
///   WAL): it survives `kill -9` and a power cut. It returns the record's sequence number.
/// - `enqueue(_:)` returns at once. **Durability by class**: an event or alarm starts a group commit
///   at once (with every record waiting before it), so it is durable within one commit (an `fdatasync`),
///   not a window later. A reading (periodic telemetry) becomes durable with the next group commit, at
///   most `commitWindow` (the telemetry commit window, default 5 s) later, or sooner when
///   `commitBatchRecords` (default 2048) are waiting or an event or `append` starts a commit. Until then
///   it is only in memory: a power cut loses it. `statistics().bufferedRecords` counts them.
/// - `append(_:)` of any record also starts a commit at once.
/// - Groups commit in enqueue order, so when `append` returns sequence *s*, every record enqueued
///   before it is durable too, with a smaller sequence number.
/// - `run()` must be running for groups to commit (it is the spool's service loop); when it is
///   cancelled it commits what is buffered, and the spool refuses new records afterwards.
///
/// **Bounded**: when a commit pushes the live data (SQLite pages in use plus the telemetry log) above
/// `maxSizeBytes`, the oldest telemetry is deleted (down to `dropTargetFraction` of the bound, by whole
/// log segments); events only when no telemetry is left, alarms last. Every drop is counted and recorded
/// as a `spool.full` event, committed before any segment file is deleted.
///
/// **Start-up**: `open` runs `PRAGMA quick_check`; a corrupt file (and its WAL) is renamed to
/// `<path>.corrupt-<UTC time>`, a new spool is created and a `spool.corrupt` alarm is recorded in it.
public final class Spool: Sendable {
    /// The configuration the spool was opened with.
    public let configuration: SpoolConfiguration
    /// Random id of this spool file, created with it: (spoolID, sequence) identifies a record forever,
    /// even after a corrupt file was replaced and sequences restarted at 1.
    public let spoolID: String
    /// Events produced while opening (e.g. the corrupt file that was moved aside); also stored in the spool.
    public let startupEvents: [Event]

    /// The one connection that writes (group commits, acknowledgements).
    private let writer: SerializedConnection
    /// A read-only connection for the uplink's reads and the counters: in WAL mode it reads the last
    /// committed state while the writer commits, and neither waits for the other.
    private let reader: SerializedConnection
    /// The packed readings; appended and discarded on the writer's thread, read on the reader's.
    private let log: TelemetryLog
    /// Channel names and units by id, for the reader (refreshed when the log names an unknown id).
    private let channelRows = Mutex<[Int64: SpoolStore.ChannelRow]>([:])
    /// Damage in the telemetry log already reported (`reportDamage`).
    private let reportedDamage = Mutex<Set<String>>([])
    private let timeSource: any TimeSource
    private let clock: any MonotonicClock
    private let state = Mutex(BufferState())
    /// The latest group commit; each commit waits for the one before it.
    private let commitChain = Mutex<Task<Void, Never>?>(nil)
    /// Only used inside the writer's transactions (so in their order), taken after the writer connection.
    private let writerCache: Mutex<SpoolStore.WriterCache>
    private let writeBytesAtOpen: Int64?
    private let ownEventObserver = Mutex<(@Sendable (Event) -> Void)?>(nil)

    private struct Pending: Sendable {
        var record: SpoolRecord
        var waiter: CheckedContinuation<Int64, any Error>?
        var isEvent: Bool { if case .event = record { true } else { false } }
    }

    private struct BufferState: Sendable {
        var buffer: [Pending] = []
        var idleWaiter: CheckedContinuation<Void, Never>?
        var windowTimer: Task<Void, any Error>?
        var stopRequested = false
        var isClosed = false
        var isRunning = false
        /// An event, an alarm or an `append` is waiting: commit now, without waiting for the window.
        var urgentWaiting = false
        var lostToWriteErrors: Int64 = 0
        var highestCommitted: Int64 = 0
        var markerSavedAtBootNanoseconds: Int64 = 0
        var markerFailures = 0
    }

    // MARK: opening

    /// Opens (or creates) the spool at `configuration.path`, checks it, and moves a corrupt file aside.
    ///
    /// - Parameters:
    ///   - timeSource: timestamps of the spool's own events and the oldest-pending age.
    ///   - clock: drives the group-commit window.
    /// - Throws: `TelemetryError` `spool.open-failed` when the file cannot be opened for another reason
    ///   than corruption (permissions, missing folder, I/O error): nothing is moved or deleted then.
    public static func open(
        _ configuration: SpoolConfiguration,
        timeSource: any TimeSource = SystemTimeSource(),
        clock: any MonotonicClock = SystemMonotonicClock()
    ) async throws(TelemetryError) -> Spool {
        let writeBytesAtOpen = ProcessIO.writeBytes()
        var startupEvents: [Event] = []
        try SpoolFileCheck.check(configuration.path)
        let marker = SpoolMarker.load(spoolPath: configuration.path)
        if case .unreadable(let why) = marker {
            startupEvents.append(Event(
                kind: "spool.marker-unreadable", severity: .warning, time: timeSource.now(),
                message: "\(SpoolMarker.path(forSpoolAt: configuration.path)) is unreadable (\(why)); it is replaced, "
                    + "and a spool lost before this start would not be noticed"))
        }
        var movedAside = false
        let connections: (writer: SerializedConnection, reader: SerializedConnection)
        do {
            connections = try openChecked(configuration)
        } catch let corruption as CorruptSpool {
            movedAside = true
            let movedTo = try moveAside(configuration.path, time: timeSource.now())
            startupEvents.append(Event(
                kind: "spool.corrupt", severity: .alarm, time: timeSource.now(),
                message: "spool file was corrupt (\(corruption.detail)); moved aside to \(movedTo) and started a new "
                    + "spool. Records in the old file were not sent: copy it off the board for recovery."))
            do {
                connections = try openChecked(configuration)
            } catch {
                throw TelemetryError(.spoolOpenFailed, "could not create a new spool at \(configuration.path) after "
                    + "moving the corrupt one aside — check the disk", underlying: error)
            }
        } catch let error as TelemetryError {
            throw error
        } catch {
            throw TelemetryError(.spoolOpenFailed, "could not open the spool at \(configuration.path) — check that "
                + "the folder exists, is writable by lampd and the disk is not full", underlying: error)
        }

        let eventsBeforeOpen = startupEvents
        let previousFileMovedAside = movedAside
        let lossTime = timeSource.now()
        do {
            let (cache, spoolID, stored, log) = try await write(connections.writer) { db in
                var cache = SpoolStore.WriterCache()
                let spoolID = try SpoolStore.spoolID(db) ?? ""
                let (log, notes) = try TelemetryLog.open(
                    spoolPath: configuration.path, spoolID: spoolID, maxSizeBytes: configuration.maxSizeBytes,
                    floor: try SpoolStore.logFloor(db))
                cache.nextSequence = max(try SpoolStore.loadNextSequence(db), log.lastSequence + 1)
                var events = eventsBeforeOpen
                for note in notes {
                    events.append(Event(kind: "spool.corrupt", severity: .alarm, time: lossTime, message: note))
                }
                let comparison = SpoolMarker.compare(marker, spoolID: spoolID, highestSequence: cache.nextSequence - 1,
                                                     movedAside: previousFileMovedAside)
                if let message = comparison.lossMessage {
                    events.append(Event(kind: "spool.lost", severity: .alarm, time: lossTime, message: message))
                }
                if comparison.minimumNextSequence > cache.nextSequence {
                    // Never reuse a sequence number upstream may already hold.
                    cache.nextSequence = comparison.minimumNextSequence
                    try SpoolStore.setMeta(db, "sequenceFloor", comparison.minimumNextSequence - 1)
                }
                if !events.isEmpty {
                    try SpoolStore.insert(db, &cache, events.map(SpoolRecord.event))
                }
                return (cache, spoolID, events, log)
            }
            let spool = Spool(configuration: configuration, spoolID: spoolID, startupEvents: stored,
                              connections: connections, log: log, cache: cache, timeSource: timeSource, clock: clock,
                              writeBytesAtOpen: writeBytesAtOpen)
            await spool.saveMarker(cleanShutdown: false)
            return spool
        } catch {
            throw TelemetryError(.spoolOpenFailed, "could not read the spool at \(configuration.path)", underlying: error)
        }
    }

    // MARK: the marker and the spool's own events

    /// Writes the marker (what this spool holds) on the writer's queue, off the cooperative pool.
    /// A failure is counted in `markerFailures` and reported once as a `spool.marker-failed` event.
    private func saveMarker(cleanShutdown: Bool) async {
        let marker = SpoolMarker(spoolID: spoolID, highestSequence: highestCommittedSequence, cleanShutdown: cleanShutdown)
        let path = configuration.path
        let bootNanoseconds = timeSource.now().bootNanoseconds
        state.withLock { $0.markerSavedAtBootNanoseconds = bootNanoseconds }
        let failure: DurableFile.Failure? = try? await writer.run { _ -> DurableFile.Failure? in
            do throws(DurableFile.Failure) { try marker.save(spoolPath: path) } catch { return error }
            return nil
        }
        guard let failure else { return }
        let first = state.withLock { s in
            s.markerFailures += 1
            return s.markerFailures == 1
        }
        if first {
            notifyOwnEvent(Event(kind: "spool.marker-failed", severity: .warning, time: timeSource.now(),
                                 message: "could not update the spool's marker (\(failure)); a later loss of the spool "
                                    + "file may go unnoticed"))
        }
    }

    /// Hands every event the spool records about itself (`spool.corrupt`, `spool.lost`, `spool.full`,
    /// `spool.marker-unreadable`, `spool.marker-failed`) to `observer`, so they are seen outside the
    /// spool (`lampctl events`, `lampctl status`): first those of the start-up, then each as it happens.
    /// The events are already stored in the spool (except `spool.marker-failed`): do not store them again.
    public func observeOwnEvents(_ observer: @escaping @Sendable (Event) -> Void) {
        ownEventObserver.withLock { $0 = observer }
        for event in startupEvents { observer(event) }
    }

    private func notifyOwnEvent(_ event: Event) {
        ownEventObserver.withLock { $0 }?(event)
    }

    private init(
        configuration: SpoolConfiguration, spoolID: String, startupEvents: [Event],
        connections: (writer: SerializedConnection, reader: SerializedConnection), log: TelemetryLog,
        cache: SpoolStore.WriterCache,
        timeSource: any TimeSource, clock: any MonotonicClock, writeBytesAtOpen: Int64?
    ) {
        self.configuration = configuration
        self.spoolID = spoolID
        self.startupEvents = startupEvents
        self.writer = connections.writer
        self.reader = connections.reader
        self.log = log
        self.writerCache = Mutex(cache)
        self.timeSource = timeSource
        self.clock = clock
        self.writeBytesAtOpen = writeBytesAtOpen
        state.withLock { $0.highestCommitted = cache.nextSequence - 1 }
    }

    private struct CorruptSpool: Error {
        var detail: String
    }

    /// Opens the writer and reader connections with lampd's settings, creating the schema; throws
    /// `CorruptSpool` for a damaged file.
    ///
    /// The same steps as the GRDB `DatabasePool` the spool used before, so files written by either
    /// open in the other.
    private static func openChecked(
        _ configuration: SpoolConfiguration
    ) throws -> (writer: SerializedConnection, reader: SerializedConnection) {
        let path = configuration.path
        let pageSize = configuration.pageSizeBytes
        let checkpointPages = configuration.walAutocheckpointPages
        do {
            // Check an existing file read-only first: opening the writer writes to the file (journal
            // mode, schema), and a corrupt file must be moved aside exactly as it was found.
            if FileManager.default.fileExists(atPath: path) {
                let check = try SQLiteConnection.open(path: path, mode: .readOnly)
                defer { try? check.close() }
                try validateFormat(check)
                let result = try check.fetchStrings(sql: "PRAGMA quick_check")
                guard result == ["ok"] else {
                    throw CorruptSpool(detail: "quick_check: " + result.prefix(3).joined(separator: "; "))
                }
            }

            let writer = try SQLiteConnection.open(path: path, mode: .readWriteCreate)
            try writer.setBusyTimeout(.seconds(5))
            // page_size only takes effect on a new, empty file (before WAL is enabled).
            try writer.execute(sql: "PRAGMA page_size = \(pageSize)")
            try validateFormat(writer)
            guard try writer.fetchStrings(sql: "PRAGMA journal_mode = WAL") == ["wal"] else {
                throw SQLiteError.failed("could not switch \(path) to WAL mode")
            }
            // NORMAL may lose the last commits on a power cut (in WAL mode the WAL is only fsynced at
            // checkpoints). FULL fsyncs the WAL at every commit, which is what makes a returned
            // `append` durable.
            try writer.execute(sql: "PRAGMA synchronous = FULL")
            try writer.execute(sql: "PRAGMA wal_autocheckpoint = \(checkpointPages)")
            // Keep the WAL file after a checkpoint (reused from its start) up to this size: truncating and
            // regrowing it would add file-system metadata writes.
            try writer.execute(sql: "PRAGMA journal_size_limit = \(checkpointPages * pageSize * 2)")
            // Always writes (user_version), so the WAL exists and is not empty when the reader opens.
            try writer.transaction(.immediate) { try SpoolStore.createSchema(writer) }

            let reader = try SQLiteConnection.open(path: path, mode: .readOnly)
            // Readers should never wait in WAL mode, except in rare cases (recovery after a crash of
            // another process, the last connection closing): GRDB gave its readers 10 s.
            try reader.setBusyTimeout(.seconds(10))
            return (SerializedConnection(writer, label: "lampd.spool.writer"),
                    SerializedConnection(reader, label: "lampd.spool.reader"))
        } catch let error as SQLiteError where error.isDamagedFile {
            throw CorruptSpool(detail: "SQLite \(error.resultCode) (\(error.resultCodeName)): \(error.message)")
        }
    }

    /// Reads the schema: fails with `SQLITE_NOTADB` for a file that is not SQLite (opening does not read it).
    private static func validateFormat(_ db: SQLiteConnection) throws(SQLiteError) {
        _ = try db.fetchStrings(sql: "SELECT * FROM sqlite_master LIMIT 1")
    }

    /// A transaction on `connection` (BEGIN IMMEDIATE … COMMIT, rolled back if `body` throws).
    private static func write<T: Sendable>(
        _ connection: SerializedConnection, _ body: @escaping @Sendable (SQLiteConnection) throws -> T
    ) async throws -> T {
        try await connection.run { db in try db.transaction(.immediate) { try body(db) } }
    }

    /// A write transaction on the writer connection.
    private func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await Self.write(writer, body)
    }

    /// A read transaction on the reader connection: every query in `body` sees the same committed state.
    private func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await reader.run { db in try db.transaction(.deferred) { try body(db) } }
    }

    /// Renames the spool file, its WAL/SHM and its telemetry log folder to `<path>.corrupt-<UTC>`;
    /// never deletes anything.
    private static func moveAside(_ path: String, time: Timestamp) throws(TelemetryError) -> String {
        // 20250615T150640Z: UTC, whole seconds, no separators.
        let format = Date.ISO8601FormatStyle(dateSeparator: .omitted, timeSeparator: .omitted)
        var target = "\(path).corrupt-\(format.format(time.date))"
        var n = 1
        while FileManager.default.fileExists(atPath: target) {
            n += 1
            target = "\(path).corrupt-\(format.format(time.date))-\(n)"
        }
        do {
            for suffix in ["-wal", "-shm", "-telemetry"] where FileManager.default.fileExists(atPath: path + suffix) {
                try FileManager.default.moveItem(atPath: path + suffix, toPath: target + suffix)
            }
            try FileManager.default.moveItem(atPath: path, toPath: target)
        } catch {
            throw TelemetryError(.spoolMoveAsideFailed, "the spool at \(path) is corrupt and could not be renamed to "
                + "\(target) — check permissions of its folder; nothing was deleted", underlying: error)
        }
        return target
    }

    // MARK: adding records

    /// Adds `record` to the next group commit without waiting. See the type's durability contract.
    ///
    /// - Throws: `spool.closed` after `run()` ended; `spool.backlog-full` when `maxBufferedRecords`
    ///   records are already waiting (the disk cannot keep up).
    public func enqueue(_ record: SpoolRecord) throws(TelemetryError) {
        try add(Pending(record: record, waiter: nil))
    }

    /// Adds a reading without waiting; see `enqueue(_:)`.
    public func enqueue(_ reading: Reading) throws(TelemetryError) { try enqueue(.reading(reading)) }

    /// Adds an event without waiting; see `enqueue(_:)`.
    public func enqueue(_ event: Event) throws(TelemetryError) { try enqueue(.event(event)) }

    /// Adds `record` and returns once it is durable (its group committed and fsynced), with its sequence number.
    ///
    /// - Throws: `spool.closed`, `spool.backlog-full`, or `spool.write-failed` when its group commit failed
    ///   (the record is then not stored).
    @discardableResult
    public func append(_ record: SpoolRecord) async throws(TelemetryError) -> Int64 {
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int64, any Error>) in
                do {
                    try add(Pending(record: record, waiter: continuation))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        } catch let error as TelemetryError {
            throw error
        } catch {
            throw TelemetryError(.spoolWriteFailed, "could not store a record", underlying: error)
        }
    }

    /// Appends a reading and waits until it is durable; see `append(_:)`.
    @discardableResult
    public func append(_ reading: Reading) async throws(TelemetryError) -> Int64 { try await append(.reading(reading)) }

    /// Appends an event and waits until it is durable; see `append(_:)`.
    @discardableResult
    public func append(_ event: Event) async throws(TelemetryError) -> Int64 { try await append(.event(event)) }

    private func add(_ pending: Pending) throws(TelemetryError) {
        let batch = configuration.commitBatchRecords
        let limit = configuration.maxBufferedRecords
        let result: Result<(CheckedContinuation<Void, Never>?, Task<Void, any Error>?), TelemetryError> = state.withLock { s in
            if s.isClosed {
                return .failure(TelemetryError(.spoolClosed, "the spool is closed (lampd is shutting down); record not stored"))
            }
            if s.buffer.count >= limit {
                return .failure(TelemetryError(.spoolBacklogFull, "\(s.buffer.count) records are waiting to be written: "
                    + "the disk is too slow or failing — check `lampctl status` and the SD card"))
            }
            s.buffer.append(pending)
            if Self.isUrgent(pending) { s.urgentWaiting = true }
            var idle: CheckedContinuation<Void, Never>?
            var timer: Task<Void, any Error>?
            if s.buffer.count == 1 { idle = s.idleWaiter; s.idleWaiter = nil }
            if s.buffer.count >= batch || s.urgentWaiting { timer = s.windowTimer; s.windowTimer = nil }
            return .success((idle, timer))
        }
        let (idle, timer) = try result.get()
        idle?.resume()
        timer?.cancel()
    }

    /// Events and alarms, and records whose caller waits (`append`), are committed at once; only
    /// periodic telemetry waits for the window (durability by class).
    private static func isUrgent(_ pending: Pending) -> Bool {
        if pending.waiter != nil { return true }
        if case .event = pending.record { return true }
        return false
    }

    // MARK: the group-commit loop

    /// The spool's service loop: commits a group when the window has passed since the first waiting
    /// record, as soon as `commitBatchRecords` are waiting, or at once for an event or an `append`. Returns when the calling task is cancelled,
    /// after committing what is still buffered; the spool is closed then.
    public func run() async {
        state.withLock { $0.isRunning = true }
        await withTaskCancellationHandler {
            while true {
                await waitForRecords()
                if state.withLock({ $0.stopRequested }) { break }
                await waitForWindowOrBatch()
                await commitGroup()
            }
        } onCancel: {
            let (idle, timer) = state.withLock { s in
                s.stopRequested = true
                defer { s.idleWaiter = nil; s.windowTimer = nil }
                return (s.idleWaiter, s.windowTimer)
            }
            idle?.resume()
            timer?.cancel()
        }
        state.withLock { $0.isClosed = true; $0.isRunning = false }
        await commitGroup()
    }

    private func waitForRecords() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s in
                if !s.buffer.isEmpty || s.stopRequested { return true }
                s.idleWaiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func waitForWindowOrBatch() async {
        let batch = configuration.commitBatchRecords
        let window = configuration.commitWindow
        let clock = self.clock
        let timer = Task { try await clock.sleep(for: window) }
        let cancelNow = state.withLock { s in
            if s.buffer.count >= batch || s.urgentWaiting || s.stopRequested { return true }
            s.windowTimer = timer
            return false
        }
        if cancelNow { timer.cancel() }
        _ = try? await timer.value
        state.withLock { $0.windowTimer = nil }
    }

    /// The highest spool sequence that is durable on disk (0 before the first commit): with the
    /// last acknowledged sequence, a cheap upper bound of what is pending.
    public var highestCommittedSequence: Int64 {
        state.withLock { $0.highestCommitted }
    }

    /// Commits everything buffered now, without waiting for the window: use before a planned power-off.
    /// Returns the highest committed sequence number.
    @discardableResult
    public func flush() async -> Int64 {
        await commitGroup()
        return state.withLock { $0.highestCommitted }
    }

    /// Commits the buffered group in a task of its own: the last commit happens
    /// exactly when lampd is being stopped (SIGTERM cancels the spool's loop), so
    /// it must not inherit that cancellation, whatever the database calls do
    /// with a cancelled task, or the buffered records would be lost.
    ///
    /// Commits also run one after another: `flush()` while the loop's own
    /// commit is writing waits for it, so when `flush()` returns every record
    /// enqueued before it is durable.
    private func commitGroup() async {
        let commit = commitChain.withLock { chain in
            let previous = chain
            let next = Task {
                await previous?.value
                await self.commitBufferedGroup()
            }
            chain = next
            return next
        }
        await commit.value
    }

    private func commitBufferedGroup() async {
        let group = state.withLock { s in
            let taken = s.buffer
            s.buffer.removeAll(keepingCapacity: true)
            s.urgentWaiting = false
            return taken
        }
        guard !group.isEmpty else { return }
        let now = timeSource.now()
        do {
            let outcome = try await writer.run { db in try self.commitOnWriter(db, group.map(\.record), now: now) }
            let intervalSeconds = configuration.markerInterval.seconds
            let markerDue = state.withLock { s in
                s.highestCommitted = max(s.highestCommitted, outcome.highestSequence)
                if outcome.telemetryFailure != nil {
                    s.lostToWriteErrors += Int64(group.filter { $0.waiter == nil && !$0.isEvent }.count)
                }
                return Double(now.bootNanoseconds &- s.markerSavedAtBootNanoseconds) / 1e9 >= intervalSeconds
            } || group.contains { if case .event(let event) = $0.record { event.severity == .alarm } else { false } }
            // Before the waiters resume: when `append` returns, a due marker already covers its record.
            if markerDue { await saveMarker(cleanShutdown: false) }
            for (offset, pending) in group.enumerated() {
                if let failure = outcome.telemetryFailure, !pending.isEvent {
                    pending.waiter?.resume(throwing: Self.writeFailure(group.count, failure))
                } else {
                    pending.waiter?.resume(returning: outcome.firstSequence + Int64(offset))
                }
            }
            if let failure = outcome.telemetryFailure { notifyOwnEvent(Self.writeFailedEvent(failure, now: now)) }
            for event in outcome.dropEvents { notifyOwnEvent(event) }
        } catch {
            let lost = group.filter { $0.waiter == nil }.count
            state.withLock { $0.lostToWriteErrors += Int64(lost) }
            for pending in group { pending.waiter?.resume(throwing: Self.writeFailure(group.count, error)) }
        }
    }

    private static func writeFailure(_ count: Int, _ error: any Error) -> TelemetryError {
        TelemetryError(.spoolWriteFailed, "writing \(count) records to the spool failed — "
            + "the SD card may be full or failing; check `lampctl status`", underlying: error)
    }

    private static func writeFailedEvent(_ error: any Error, now: Timestamp) -> Event {
        Event(kind: "spool.write-failed", severity: .alarm, time: now,
              message: "readings could not be written to the spool's telemetry log (\(error)); they are lost — "
                + "the SD card may be full or failing")
    }

    /// What one group commit did.
    private struct CommitOutcome: Sendable {
        var firstSequence: Int64
        /// The highest sequence given out (the group's and the drop events'): every record up to it is
        /// committed or was lost with the failure below, so readers may see up to it.
        var highestSequence: Int64
        var dropEvents: [Event]
        /// The readings' frame could not be written (the events of the group are stored).
        var telemetryFailure: (any Error)?
    }

    /// One group commit, on the writer's thread. Events (and channels seen for the first time) go
    /// into one SQLite transaction; readings into one frame of the telemetry log, appended after that
    /// transaction committed (so every channel id a frame names is on disk before it). A group of
    /// readings of known channels does not touch SQLite at all. Throws when the SQLite part failed:
    /// then nothing was stored and no sequence number was used.
    private func commitOnWriter(_ db: SQLiteConnection, _ records: [SpoolRecord], now: Timestamp) throws -> CommitOutcome {
        try writerCache.withLock { cache in
            var working = cache
            let first = working.nextSequence
            var packed: [TelemetryBlock.Entry] = []
            packed.reserveCapacity(records.count)
            let needsTransaction = records.contains { record in
                switch record {
                case .event: return true
                case .reading(let r): return working.knownChannelID(r) == nil
                }
            }
            if needsTransaction {
                try db.transaction(.immediate) {
                    try SpoolStore.insert(db, &working, records) { packed.append($0) }
                }
            } else {
                for case .reading(let r) in records {
                    // Every channel is known here (needsTransaction is false).
                    let channel = working.knownChannelID(r) ?? 0
                    packed.append(TelemetryBlock.Entry(sequence: working.nextSequence, channelID: channel, value: r.value,
                                                       time: r.time, quality: r.quality))
                    working.nextSequence += 1
                }
            }
            cache = working  // the SQLite part is committed: these sequence numbers are used, whatever follows
            var telemetryFailure: (any Error)?
            if !packed.isEmpty {
                do { try log.append(packed) } catch { telemetryFailure = error }
            }
            // The drop policy runs after the group is stored; a failure here is retried at the next commit.
            let dropEvents = (try? enforceBound(db, &cache, now: now)) ?? []
            return CommitOutcome(firstSequence: first, highestSequence: cache.nextSequence - 1, dropEvents: dropEvents,
                                 telemetryFailure: telemetryFailure)
        }
    }

    /// When the live data (SQLite pages in use plus the telemetry log) is above `maxSizeBytes`, drops
    /// the oldest down to `dropTargetFraction` of it: readings first (those of a version-1 spool still
    /// in the `reading` table, then the oldest log segments), then events, then alarms. The drops and
    /// their `spool.full` events are recorded in one transaction before any log file is deleted.
    private func enforceBound(_ db: SQLiteConnection, _ cache: inout SpoolStore.WriterCache, now: Timestamp) throws -> [Event] {
        let maxBytes = configuration.maxSizeBytes
        guard try SpoolStore.usedBytes(db) + log.bytes > maxBytes else { return [] }
        // Checked: a fraction outside 0…1 (or NaN) from a caller must not trap; it means "to the bound".
        let fraction = configuration.dropTargetFraction
        let targetBytes = fraction > 0 && fraction <= 1
            ? Int64(exactly: (Double(maxBytes) * fraction).rounded(.down)) ?? maxBytes : maxBytes
        var working = cache
        let log = self.log
        let (dropEvents, logDrop) = try db.transaction(.immediate) { () throws -> ([Event], SpoolStore.Drop?) in
            var drops = try SpoolStore.dropOldest(db, targetBytes: targetBytes - log.bytes, classes: [.telemetry])
            let excess = try SpoolStore.usedBytes(db) + log.bytes - targetBytes
            let logDrop = excess > 0 ? log.plannedDrop(freeing: excess) : nil
            var logBytesAfter = log.bytes
            if let logDrop {
                try SpoolStore.count([logDrop], db)
                try SpoolStore.setMeta(db, SpoolStore.logDroppedThroughKey, logDrop.lastSequence)
                drops.append(logDrop)
                logBytesAfter = log.bytes(after: logDrop.lastSequence)
            }
            drops += try SpoolStore.dropOldest(db, targetBytes: targetBytes - logBytesAfter, classes: [.event, .alarm])
            let events = drops.map { Self.dropEvent($0, now: now) }
            try SpoolStore.insert(db, &working, events.map(SpoolRecord.event))
            try SpoolStore.setMeta(db, "sequenceFloor", working.nextSequence - 1)
            return (events, logDrop)
        }
        cache = working
        if let logDrop { try log.discard(through: logDrop.lastSequence) }
        return dropEvents
    }

    private static func dropEvent(_ drop: SpoolStore.Drop, now: Timestamp) -> Event {
        let noun: String
        switch drop.recordClass {
        case .telemetry: noun = "readings"
        case .event: noun = "events"
        case .alarm: noun = "alarms"
        }
        func iso(_ ns: Int64) -> String {  // 2025-06-15T15:06:40Z
            Date.ISO8601FormatStyle().format(Date(timeIntervalSince1970: Double(ns) / 1e9))
        }
        return Event(
            kind: "spool.full", severity: drop.recordClass == .telemetry ? .warning : .alarm,
            value: .number(Double(drop.count)), time: now,
            message: "spool full: dropped \(drop.count) \(noun) from sequence \(drop.firstSequence) to "
                + "\(drop.lastSequence) (\(iso(drop.firstUTCNanoseconds)) to \(iso(drop.lastUTCNanoseconds)))")
    }

    // MARK: the uplink side

    /// The oldest unacknowledged records, in sequence order, at most `limit`, after `afterSequence`
    /// (pass the last sequence of a batch in flight to fetch the next one without acknowledging).
    ///
    /// Only records of completed group commits are returned: a group's events (SQLite) and readings
    /// (telemetry log) are written one after the other, and a batch that held the events of a group
    /// but not yet its readings would, once acknowledged, delete readings never sent.
    public func oldestPending(limit: Int, afterSequence: Int64 = 0) async throws(TelemetryError) -> [SpooledRecord] {
        let committed = highestCommittedSequence
        do {
            return try await reader.run { db in
                try self.pendingRecords(db, limit: limit, after: afterSequence, through: committed)
            }
        } catch {
            throw TelemetryError(.spoolReadFailed, "could not read pending records from the spool", underlying: error)
        }
    }

    /// Merges the SQLite rows (events, version-1 readings) and the telemetry log by sequence number.
    private func pendingRecords(
        _ db: SQLiteConnection, limit: Int, after: Int64, through committed: Int64
    ) throws -> [SpooledRecord] {
        guard limit > 0 else { return [] }
        let rows = try (db.isInTransaction
            ? SpoolStore.oldestPending(db, limit: limit, afterSequence: after)
            : db.transaction(.deferred) { try SpoolStore.oldestPending(db, limit: limit, afterSequence: after) })
            .filter { $0.sequence <= committed }
        let entries = try log.entries(after: after, through: committed, limit: limit) { problem in
            self.reportDamage(problem)
        }
        var channels = channelRows.withLock { $0 }
        if entries.contains(where: { channels[$0.channelID] == nil }) {
            channels = try SpoolStore.channelTable(db)
            channelRows.withLock { [channels] in $0 = channels }
        }
        var merged: [SpooledRecord] = []
        merged.reserveCapacity(min(limit, rows.count + entries.count))
        var r = rows.startIndex, e = entries.startIndex
        while merged.count < limit, r < rows.endIndex || e < entries.endIndex {
            if e == entries.endIndex || (r < rows.endIndex && rows[r].sequence < entries[e].sequence) {
                merged.append(rows[r])
                r += 1
            } else {
                merged.append(SpoolStore.spooledRecord(entries[e], channel: channels[entries[e].channelID]))
                e += 1
            }
        }
        return merged
    }

    /// A part of the telemetry log that stopped reading back: a `spool.corrupt` alarm, once per place
    /// and run, stored (as an event, in SQLite: it goes upstream) and handed to the observer.
    private func reportDamage(_ problem: String) {
        guard reportedDamage.withLock({ $0.insert(problem).inserted }) else { return }
        let event = Event(kind: "spool.corrupt", severity: .alarm, time: timeSource.now(), message: problem)
        try? enqueue(event)
        notifyOwnEvent(event)
    }

    /// Deletes every record with sequence ≤ `sequence`: call only once upstream confirmed them.
    /// Durable when it returns (the acknowledged-through mark is committed first; the telemetry log's
    /// files that hold nothing newer are deleted after). Returns how many records were deleted.
    @discardableResult
    public func acknowledge(throughSequence sequence: Int64) async throws(TelemetryError) -> Int {
        do {
            return try await writer.run { db in
                let highest = self.writerCache.withLock { $0.nextSequence - 1 }
                let rows = try db.transaction(.immediate) {
                    try SpoolStore.acknowledge(db, through: sequence, highestAssigned: highest)
                }
                return rows + Int(try self.log.discard(through: sequence))
            }
        } catch {
            throw TelemetryError(.spoolWriteFailed, "could not delete acknowledged records", underlying: error)
        }
    }

    // MARK: counters

    /// The spool's counters; see `SpoolStatistics`.
    public func statistics() async throws(TelemetryError) -> SpoolStatistics {
        let now = timeSource.now()
        let (buffered, lost) = state.withLock { ($0.buffer.count, $0.lostToWriteErrors) }
        do {
            var stats = try await read { db -> SpoolStatistics in
                let readings = Int(try db.fetchInt64(sql: "SELECT count(*) FROM reading") ?? 0)
                    + Int(self.log.liveReadingCount)
                let events = Int(try db.fetchInt64(sql: "SELECT count(*) FROM event WHERE class = 1") ?? 0)
                let alarms = Int(try db.fetchInt64(sql: "SELECT count(*) FROM event WHERE class = 2") ?? 0)
                let oldest = try self.pendingRecords(db, limit: 1, after: 0, through: .max).first
                var dropped: [SpoolRecordClass: Int64] = [:]
                for c in SpoolRecordClass.allCases { dropped[c] = try SpoolStore.metaInt(db, "dropped.\(c)") }
                return SpoolStatistics(
                    pendingReadings: readings, pendingEvents: events, pendingAlarms: alarms, bufferedRecords: 0,
                    oldestPendingAge: oldest.map { Self.age(of: $0, now: now) }, oldestPendingSequence: oldest?.sequence,
                    // From the same snapshot as the counts, so pending + acknowledged adds up even
                    // while group commits go on.
                    highestSequence: max(try SpoolStore.loadNextSequence(db) - 1, self.log.lastSequence),
                    usedBytes: try SpoolStore.usedBytes(db) + self.log.bytes, maxSizeBytes: 0, fileBytes: 0,
                    droppedRecords: dropped, recordsLostToWriteErrors: 0, bytesWrittenSinceStart: nil)
            }
            stats.bufferedRecords = buffered
            stats.recordsLostToWriteErrors = lost
            stats.maxSizeBytes = configuration.maxSizeBytes
            stats.fileBytes = ["", "-wal", "-shm"].reduce(log.bytes) { sum, suffix in
                var status = stat()
                return sum + (stat(configuration.path + suffix, &status) == 0 ? Int64(status.st_size) : 0)
            }
            if let start = writeBytesAtOpen, let current = ProcessIO.writeBytes() {
                stats.bytesWrittenSinceStart = current - start
            }
            return stats
        } catch {
            throw TelemetryError(.spoolReadFailed, "could not read the spool's counters", underlying: error)
        }
    }

    private static func age(of record: SpooledRecord, now: Timestamp) -> Duration {
        let time = record.record.time
        if time.bootID == now.bootID && time.bootID != Timestamp.unknownBootID {
            return .nanoseconds(CheckedTime.difference(now.bootNanoseconds, time.bootNanoseconds))
        }
        return .nanoseconds(CheckedTime.difference(now.utcNanoseconds, time.utcNanoseconds))
    }

    /// The writer connection's `PRAGMA synchronous` (2 = FULL), for tests.
    func writerSynchronousSetting() async throws -> Int {
        try await writer.run { Int(try $0.fetchInt64(sql: "PRAGMA synchronous") ?? -1) }
    }

    /// Closes the database (the reader, then the writer, which checkpoints the WAL into the file).
    /// Call after `run()` returned.
    public func close() throws(TelemetryError) {
        let marker = SpoolMarker(spoolID: spoolID, highestSequence: highestCommittedSequence, cleanShutdown: true)
        try? marker.save(spoolPath: configuration.path)
        log.closeSegment()
        do {
            try reader.runHere { try $0.close() }
            try writer.runHere { try $0.close() }
        } catch {
            throw TelemetryError(.spoolWriteFailed, "could not close the spool cleanly", underlying: error)
        }
    }
}
