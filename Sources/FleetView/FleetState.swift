import Foundation
import Ingest
import Logging
import Synchronization
import Telemetry
import Uplink

/// Every pole's live state, as the map and the list show it (docs/live-view.md): fed by each
/// batch the receiver stored (`apply`), rebuilt from the store at start (`rebuild`), read as a
/// snapshot (`snapshot`) or as a stream of changes (`changes`).
///
/// Nothing a board sends can make it trap: times and values are only compared and copied, never
/// converted unchecked; a kind it does not know is ignored.
public actor FleetState {
    public nonisolated let inventory: PoleInventory
    /// A pole with no batch for longer than this is offline (judged when a snapshot is taken).
    public let offlineAfter: TimeInterval
    /// A data gap is shown this long after the batch that reported it, unless a late batch fills it first.
    public let dataGapShownFor: TimeInterval
    private let now: @Sendable () -> Date
    private var tracks: [String: PoleTrack] = [:]
    private var subscribers: [UInt64: ChangeMailbox] = [:]
    private var nextSubscriber: UInt64 = 0

    public init(
        inventory: PoleInventory, offlineAfter: TimeInterval = 15 * 60, dataGapShownFor: TimeInterval = 24 * 3600,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.inventory = inventory
        self.offlineAfter = offlineAfter
        self.dataGapShownFor = dataGapShownFor
        self.now = now
    }

    // MARK: Feeding

    /// Takes in one batch the store committed as new (not a duplicate), received at `receivedAt`.
    public func apply(device: String, batch: VerifiedBatch, acceptance: Acceptance, receivedAt: Date) {
        var track = tracks[device] ?? PoleTrack()
        track.take(batch, acceptance: acceptance, receivedAt: receivedAt)
        tracks[device] = track
        publish(device)
    }

    /// Rebuilds the state from the batches stored in the last `window` seconds (by record time: the
    /// store's time filter reads records, not arrival), with each device's last arrival from the store.
    ///
    /// Each device's batches are replayed in arrival order through the receiver's own rules
    /// (`ChainReplay`, `AcceptanceRules`): a sequence gap between batches of the window shows as a
    /// data gap after a restart as it did live, and the backlog comes from the newest-sent batch.
    public func rebuild(from store: any BatchStore, window: TimeInterval = 24 * 3600) async throws {
        let rebuiltAt = now()
        let since = rebuiltAt.timeIntervalSince1970 - window
        let statuses = try await store.status()
        var rebuilt: [String: PoleTrack] = [:]
        var chains = ChainReplay()
        // Only the batches received in the window are read (the store's received-time index).
        try await SenMLExporter(store: store).forEachVerifiedBatch(ExportFilter(receivedSince: since)) { device, batch in
            let acceptance = chains.accept(batch, device: device)
            var track = rebuilt[device] ?? PoleTrack()
            if let last = batch.records.last, Double(last.utcNanoseconds) / 1e9 >= since || !last.isClockSynchronised {
                track.take(batch, acceptance: acceptance, receivedAt: nil, rebuiltAt: rebuiltAt)
            } else {
                // Its records are older than the window; its place in the chain still counts.
                track.note(acceptance, of: batch, at: PoleTrack.sentAt(batch, rebuiltAt: rebuiltAt))
            }
            rebuilt[device] = track
        }
        for status in statuses {
            let lastSeen = Date(timeIntervalSince1970: Double(status.lastReceivedMilliseconds) / 1000)
            guard lastSeen.timeIntervalSince1970 >= since else { continue }
            rebuilt[status.device, default: PoleTrack()].lastSeen = lastSeen
        }
        tracks = rebuilt
        for device in rebuilt.keys { publish(device) }
    }

    /// Marks an active alarm acknowledged; false when the pole has no such active alarm.
    public func acknowledge(device: String, alarm: String, by user: String, note: String, at time: Date) -> Bool {
        guard var track = tracks[device], var active = track.alarms[alarm] else { return false }
        active.acknowledged = AlarmAcknowledgement(by: user, at: time, note: note)
        track.alarms[alarm] = active
        tracks[device] = track
        publish(device)
        return true
    }

    // MARK: Reading

    /// Every inventory pole (in the inventory's order), then the boards not in it (by device id).
    public func snapshot() -> [PoleSummary] {
        let time = now()
        var result = inventory.poles.map { summary(of: $0, track: tracks[$0.device], inInventory: true, at: time) }
        for device in tracks.keys.sorted() where inventory[device] == nil {
            result.append(summary(of: Self.unplaced(device), track: tracks[device], inInventory: false, at: time))
        }
        return result
    }

    /// One pole's summary; nil when it is neither in the inventory nor ever heard from.
    public func summary(device: String) -> PoleSummary? {
        if let pole = inventory[device] { return summary(of: pole, track: tracks[device], inInventory: true, at: now()) }
        guard let track = tracks[device] else { return nil }
        return summary(of: Self.unplaced(device), track: track, inInventory: false, at: now())
    }

    /// The summaries that change from now on. A slow reader never makes memory grow: only the
    /// newest summary of each pole waits for it. With `heartbeat`, `FleetChanges.Iterator.nextChange()`
    /// also says `.heartbeat` after that long without a change (a web stream writes then, and so
    /// learns that its reader is gone).
    public func changes(heartbeat: Duration? = nil) -> FleetChanges {
        let (bell, ring) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let mailbox = ChangeMailbox(ring: ring)
        let id = nextSubscriber
        nextSubscriber &+= 1
        subscribers[id] = mailbox
        let beating = heartbeat.map { period in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: period)
                    mailbox.beat()
                }
            }
        }
        ring.onTermination = { [weak self] _ in
            beating?.cancel()
            guard let self else { return }
            Task { await self.unsubscribe(id) }
        }
        return FleetChanges(bell: bell, mailbox: mailbox)
    }

    /// Readers of `changes()` now.
    public var subscriberCount: Int { subscribers.count }

    private func unsubscribe(_ id: UInt64) { subscribers[id] = nil }

    private func publish(_ device: String) {
        guard !subscribers.isEmpty, let summary = summary(device: device) else { return }
        for mailbox in subscribers.values { mailbox.post(summary) }
    }

    private static func unplaced(_ device: String) -> Pole {
        Pole(device: device, label: device, latitudeDegrees: 0, longitudeDegrees: 0, ratedPowerWatts: 0)
    }

    private func summary(of pole: Pole, track: PoleTrack?, inInventory: Bool, at time: Date) -> PoleSummary {
        var summary = PoleSummary(pole: pole, condition: .neverSeen)
        summary.inInventory = inInventory
        guard let track else { return summary }
        summary.lampLevelPercent = track.level?.percent
        summary.lampReason = track.level?.reason
        summary.alarms = track.alarms.values.sorted { $0.since < $1.since }
        summary.lastSeen = track.lastSeen
        summary.newestRecordAt = track.newestRecordAt
        summary.backlogRecords = track.backlogRecords
        summary.appliedScheduleVersion = track.applied["scheduler"]?.version
        summary.condition = condition(track, at: time)
        return summary
    }

    /// The first that applies, in `PoleCondition`'s order.
    private func condition(_ track: PoleTrack, at time: Date) -> PoleCondition {
        if !track.alarms.isEmpty { return .fault }
        guard let lastSeen = track.lastSeen ?? track.newestRecordAt else { return .neverSeen }
        if time.timeIntervalSince(lastSeen) > offlineAfter { return .offline }
        if track.clockUnsynchronised { return .clockUnsynchronised }
        if let gap = track.gapReportedAt, time.timeIntervalSince(gap) <= dataGapShownFor { return .dataGap }
        if track.overridden?.on == true { return .overridden }
        return .ok
    }
}

/// What FleetState keeps of one board between batches. Each fact remembers the record time that
/// set it, so a late batch (a backlog, a retransmission filling a hole) never overwrites newer news.
struct PoleTrack {
    struct Level {
        var percent: Double
        var reason: String
        var at: Int64
    }

    var lastSeen: Date?
    var newestRecordAt: Date?
    var newestRecordNanoseconds: Int64 = .min
    var highestSequence: UInt64 = 0
    var clockUnsynchronised = false
    var gapReportedAt: Date?
    /// The spool backlog the newest-sent batch reported (nil: unknown).
    var backlogRecords: Int?
    var level: Level?
    var overridden: (on: Bool, at: Int64)?
    var applied: [String: (version: Int64, at: Int64)] = [:]
    var alarms: [String: ActiveAlarm] = [:]
    /// When each alarm last changed (raised or cleared), board time in nanoseconds.
    var alarmChangedAt: [String: Int64] = [:]

    /// Takes a batch as it arrived at `receivedAt`; a rebuild passes no arrival time and `rebuiltAt`
    /// instead (a gap is then dated by the batch's records: `sentAt`).
    mutating func take(_ batch: VerifiedBatch, acceptance: Acceptance, receivedAt: Date?, rebuiltAt: Date? = nil) {
        if let receivedAt { lastSeen = max(lastSeen ?? receivedAt, receivedAt) }
        note(acceptance, of: batch, at: receivedAt ?? rebuiltAt.map { Self.sentAt(batch, rebuiltAt: $0) })
        if batch.sequence >= highestSequence, let last = batch.records.last {
            highestSequence = batch.sequence
            clockUnsynchronised = !last.isClockSynchronised
        }
        for record in batch.records { take(record, receivedAt: receivedAt) }
    }

    /// What the receiver's decision on `batch` says: a gap (shown from `time`), a late batch
    /// filling one, and — from the newest-sent batch only (it moved the chain) — the spool backlog.
    mutating func note(_ acceptance: Acceptance, of batch: VerifiedBatch, at time: Date?) {
        guard case .store(let gap, let advancesChain) = acceptance else { return }
        if gap != nil {
            gapReportedAt = time ?? gapReportedAt
        } else if !advancesChain {
            // A late batch fills (part of) the hole.
            gapReportedAt = nil
        }
        if advancesChain { backlogRecords = batch.spoolBacklog.flatMap { Int(exactly: $0) } }
    }

    /// About when a stored batch was sent, for a rebuild that has no arrival time: the time of its
    /// last record taken with a synchronised clock, never later than the rebuild (a board's clock
    /// far ahead must not keep a gap shown); the rebuild's time when it has no such record.
    static func sentAt(_ batch: VerifiedBatch, rebuiltAt: Date) -> Date {
        batch.records.last(where: \.isClockSynchronised).map { min(date($0.utcNanoseconds), rebuiltAt) } ?? rebuiltAt
    }

    private mutating func take(_ record: BatchRecord, receivedAt: Date?) {
        let at = record.utcNanoseconds
        let date = record.isClockSynchronised ? Self.date(at) : (receivedAt ?? Self.date(at))
        if record.isClockSynchronised, at > newestRecordNanoseconds {
            newestRecordNanoseconds = at
            newestRecordAt = date
        }
        guard case .event(let kind, _) = record.kind else { return }
        let message = record.message ?? ""
        switch kind {
        case "lamp.level", "lamp.restored":
            if case .number(let percent)? = record.value, percent.isFinite, at >= (level?.at ?? .min) {
                level = Level(percent: min(max(percent, 0), 100), reason: Self.reason(message), at: at)
                if kind == "lamp.level", at >= (overridden?.at ?? .min) {
                    overridden = (message.lowercased().contains("override"), at)
                }
            }
        case "lamp.override":
            if at >= (overridden?.at ?? .min) { overridden = (true, at) }
        case "lamp.override-cleared":
            if at >= (overridden?.at ?? .min) { overridden = (false, at) }
        case "downlink.applied":
            let role = record.channel.map { $0.hasPrefix("downlink.") ? String($0.dropFirst("downlink.".count)) : $0 } ?? "scheduler"
            if case .number(let version)? = record.value, let whole = Int64(exactly: version.rounded(.towardZero)),
                at >= (applied[role]?.at ?? .min)
            {
                applied[role] = (whole, at)
            }
        default:
            guard let change = AlarmCatalogue.change(kind: kind, value: record.value) else { return }
            let alarm = change.definition.alarm
            guard at >= (alarmChangedAt[alarm] ?? .min) else { return }
            alarmChangedAt[alarm] = at
            if change.raised {
                // A repeated raise keeps the first `since` (and its acknowledgement).
                if alarms[alarm] == nil {
                    alarms[alarm] = ActiveAlarm(alarm: alarm, title: change.definition.title, since: date, message: message)
                }
            } else {
                alarms[alarm] = nil
            }
        }
    }

    /// The board's reason: its message after "lamp → 40 %: " when it has that form.
    static func reason(_ message: String) -> String {
        guard let colon = message.range(of: ": ") else { return message }
        return String(message[colon.upperBound...])
    }

    static func date(_ nanoseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(nanoseconds) / 1e9) }
}

/// One reader's pending changes: the newest summary per pole, in the order poles first changed.
final class ChangeMailbox: Sendable {
    private let pending = Mutex<(order: [String], newest: [String: PoleSummary], beat: Bool)>(([], [:], false))
    private let ring: AsyncStream<Void>.Continuation

    init(ring: AsyncStream<Void>.Continuation) { self.ring = ring }

    func post(_ summary: PoleSummary) {
        pending.withLock { pending in
            if pending.newest.updateValue(summary, forKey: summary.pole.device) == nil { pending.order.append(summary.pole.device) }
        }
        ring.yield()
    }

    /// Rings without a change: the reader gets a heartbeat if nothing else waits.
    func beat() {
        pending.withLock { $0.beat = true }
        ring.yield()
    }

    /// Ends the reader's stream.
    func finish() { ring.finish() }

    /// Whether a heartbeat is due (and clears it).
    func takeBeat() -> Bool {
        pending.withLock { pending in
            defer { pending.beat = false }
            return pending.beat
        }
    }

    func drain() -> [PoleSummary] {
        pending.withLock { pending in
            // The heartbeat flag stays: `takeBeat` reads it.
            defer {
                pending.order = []
                pending.newest = [:]
            }
            return pending.order.compactMap { pending.newest[$0] }
        }
    }
}

/// One step of `FleetChanges`: a pole's newest summary, or a heartbeat.
public enum FleetChange: Sendable, Equatable {
    case pole(PoleSummary)
    case heartbeat
}

/// The changes of `FleetState.changes()`: each element is a pole's newest summary. Ends when the
/// reading task is cancelled.
public struct FleetChanges: AsyncSequence, Sendable {
    public typealias Element = PoleSummary
    let bell: AsyncStream<Void>
    let mailbox: ChangeMailbox

    public func makeAsyncIterator() -> Iterator { Iterator(bell: bell.makeAsyncIterator(), mailbox: mailbox) }

    /// Ends the stream: its iterator returns nil once what waits is read (a server shutting down).
    public func finish() { mailbox.finish() }

    public struct Iterator: AsyncIteratorProtocol {
        var bell: AsyncStream<Void>.AsyncIterator
        let mailbox: ChangeMailbox
        var queue: ArraySlice<PoleSummary> = []

        public mutating func next() async -> PoleSummary? {
            while true {
                switch await nextChange() {
                case .pole(let summary)?: return summary
                case .heartbeat?: continue
                case nil: return nil
                }
            }
        }

        /// The next change, or `.heartbeat` when one is due and no change waits.
        public mutating func nextChange() async -> FleetChange? {
            while queue.isEmpty {
                if mailbox.takeBeat() { return .heartbeat }
                guard await bell.next() != nil else { return nil }
                queue = ArraySlice(mailbox.drain())
            }
            return queue.popFirst().map(FleetChange.pole)
        }
    }
}
