import Downlink
import Foundation
import Telemetry
import Uplink
import UplinkHTTP

/// One simulated board: its signer, its chain (sequence, previous hash) and the signed
/// batches it has not yet had acknowledged, oldest first.
struct SimulatedBoard: Sendable {
    let index: Int
    let builder: BatchBuilder
    let signer: BatchSigner
    let deviceID: DeviceID
    var nextSequence: UInt64 = 1
    var previousHash: [UInt8] = []
    var nextSpoolSequence: Int64 = 1
    var backlog: [SignedBatch] = []
    /// The desired state this board applied, by role (with `--pull-every-minutes`).
    var appliedVersions: [DesiredStateRole: UInt64] = [:]
    /// Documents refused, not refused again when served again (bounded).
    var refusedDocuments: Set<[UInt8]> = []
    /// `downlink.*` events of the last pull, for the next regular batch.
    var pendingDownlinkEvents: [SpoolRecord] = []
    /// Whether the pending events include a `downlink.applied`.
    var carriesApplied = false
    /// Sequences of queued batches that carry a `downlink.applied` event.
    var appliedCarriers: Set<UInt64> = []

    init(index: Int, plan: FleetPlan) throws {
        self.index = index
        let id = try DeviceID(plan.deviceID(index))
        deviceID = id
        builder = BatchBuilder(deviceID: id)
        signer = BatchSigner(identity: DeviceIdentity(deviceID: id, key: plan.key(index)))
    }

    /// Signs `records` as the next batch of the chain and queues it.
    mutating func enqueue(_ records: [SpoolRecord]) throws {
        guard !records.isEmpty else { return }
        defer { carriesApplied = false }
        let spooled = records.enumerated().map { SpooledRecord(sequence: nextSpoolSequence + Int64($0.offset), record: $0.element) }
        nextSpoolSequence += Int64(records.count)
        // Signed as soon as its records exist, so nothing waits behind it: spool backlog 0 (lampd
        // signs when it sends, and counts the records that arrived meanwhile).
        let batch = signer.sign(payload: try builder.build(records: spooled), sequence: nextSequence, previousHash: previousHash,
                                spoolBacklog: 0)
        nextSequence += 1
        previousHash = batch.hash
        if carriesApplied { appliedCarriers.insert(batch.sequence) }
        backlog.append(batch)
    }
}

/// What the run counted.
struct FleetCounts: Codable, Sendable {
    var sent = 0
    var acknowledged = 0
    var duplicates = 0
    var refused = 0
    var retries = 0
    var gaps = 0
    var lostAcknowledgements = 0
    var readingsAcknowledged = 0
    var eventsAcknowledged = 0
    var latenciesMilliseconds: [Double] = []
    var refusals: [String] = []
    var pulls = 0
    var pullFailures = 0
    var downlinkApplied = 0
    var downlinkRefused = 0
    /// Wall-clock times (seconds since 1970) at which a batch carrying a `downlink.applied`
    /// event was acknowledged: when `lamp-ingest downlink-status` can show it.
    var appliedAcknowledgedAtSeconds: [Double] = []

    /// The `downlink.*` events the boards recorded (not in `FleetPlan.expectedTotals`).
    var downlinkEvents: Int { downlinkApplied + downlinkRefused }

    mutating func add(_ other: FleetCounts) {
        sent += other.sent
        acknowledged += other.acknowledged
        duplicates += other.duplicates
        refused += other.refused
        retries += other.retries
        gaps += other.gaps
        lostAcknowledgements += other.lostAcknowledgements
        readingsAcknowledged += other.readingsAcknowledged
        eventsAcknowledged += other.eventsAcknowledged
        latenciesMilliseconds += other.latenciesMilliseconds
        pulls += other.pulls
        pullFailures += other.pullFailures
        downlinkApplied += other.downlinkApplied
        downlinkRefused += other.downlinkRefused
        appliedAcknowledgedAtSeconds += other.appliedAcknowledgedAtSeconds
        if refusals.count < 10 { refusals += other.refusals.prefix(10 - refusals.count) }
    }
}

/// The p-th percentile (0…100) by the nearest-rank method; nil for no samples.
func percentile(_ p: Double, of sorted: [Double]) -> Double? {
    guard !sorted.isEmpty else { return nil }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// Drives the fleet minute by minute: every (simulated) minute each board builds its batch at
/// its own second of the minute and, when online, delivers its backlog in order; at most
/// `concurrency` boards of one second deliver at once. Deliveries that outlast their second
/// delay the next ones: the run reports the largest delay (a fleet the receiver does not
/// sustain falls further and further behind).
struct FleetRunner {
    let plan: FleetPlan
    let transports: [HTTPBatchTransport]
    let concurrency: Int
    let minuteDuration: Duration
    /// The desired-state pull, nil without `--pull-every-minutes`.
    var pull: FleetPull? = nil
    let maxAttempts = 20

    func run() async throws -> (counts: FleetCounts, seconds: Double, maxLagSeconds: Double) {
        var boards = try (0..<plan.boards).map { try SimulatedBoard(index: $0, plan: plan) }
        let offline = (0..<plan.boards).map { plan.offlineWindow($0) }
        var counts = FleetCounts()
        var maxLag = Duration.zero
        let clock = ContinuousClock()
        let start = clock.now
        // Boards' batch timers are not in step: each board has its own second of the minute
        // (one of `slots`), so the load is spread over the minute as a real fleet's is.
        let slots = min(60, plan.boards)
        let boardsBySlot = (0..<slots).map { slot in Array(stride(from: slot, to: plan.boards, by: slots)) }
        for minute in 0..<plan.minutes {
            for slot in 0..<slots {
                let due = start + minuteDuration * minute + minuteDuration * slot / slots
                maxLag = max(maxLag, clock.now - due)
                try await clock.sleep(until: due)
                let isOnline = { (index: Int) in offline[index]?.contains(minute) != true }
                if let pull {
                    // An offline board cannot pull; what it pulls goes out in this minute's batch.
                    let now = FleetPull.time(plan: plan, minute: minute, secondsIntoMinute: Int64(slot * 60 / slots))
                    let pulling = boardsBySlot[slot].filter { isOnline($0) && pull.isDue(board: $0, minute: minute) }
                    try await forEach(pulling, boards: &boards, counts: &counts) { board, transport in
                        await pull.pull(board, transport: transport, now: now)
                    }
                }
                for index in boardsBySlot[slot] {
                    let (regular, urgent) = plan.records(index, minute)
                    try boards[index].enqueue(regular + boards[index].pendingDownlinkEvents)
                    boards[index].pendingDownlinkEvents = []
                    try boards[index].enqueue(urgent)
                }
                let online = boardsBySlot[slot].filter { isOnline($0) && !boards[$0].backlog.isEmpty }
                try await deliver(online, boards: &boards, counts: &counts)
            }
        }
        // Boards still offline at the end come back and send their backlog.
        try await deliver(boards.indices.filter { !boards[$0].backlog.isEmpty }, boards: &boards, counts: &counts)
        let elapsed = clock.now - start
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        return (counts, seconds(elapsed), seconds(maxLag))
    }

    private func deliver(_ indices: [Int], boards: inout [SimulatedBoard], counts: inout FleetCounts) async throws {
        let plan = plan, maxAttempts = maxAttempts
        try await forEach(indices, boards: &boards, counts: &counts) { board, transport in
            await Self.drain(board, transport: transport, plan: plan, maxAttempts: maxAttempts)
        }
    }

    /// Runs `work` for the boards `indices`, at most `concurrency` at once.
    private func forEach(_ indices: [Int], boards: inout [SimulatedBoard], counts: inout FleetCounts,
                         _ work: @escaping @Sendable (SimulatedBoard, HTTPBatchTransport) async -> (SimulatedBoard, FleetCounts)) async throws {
        try await withThrowingTaskGroup(of: (SimulatedBoard, FleetCounts).self) { group in
            var next = 0
            func startNext(_ group: inout ThrowingTaskGroup<(SimulatedBoard, FleetCounts), any Error>) {
                guard next < indices.count else { return }
                let board = boards[indices[next]]
                let transport = transports[board.index % transports.count]
                next += 1
                group.addTask { await work(board, transport) }
            }
            for _ in 0..<min(concurrency, indices.count) { startNext(&group) }
            while let (board, boardCounts) = try await group.next() {
                boards[board.index] = board
                counts.add(boardCounts)
                startNext(&group)
            }
        }
    }

    /// Sends the board's backlog in order; stops at a refusal or after `maxAttempts` retries
    /// (what is left goes out with the next minute).
    static func drain(_ board: SimulatedBoard, transport: HTTPBatchTransport, plan: FleetPlan, maxAttempts: Int) async -> (SimulatedBoard, FleetCounts) {
        var board = board
        var counts = FleetCounts()
        let clock = ContinuousClock()
        var attempts = 0
        while let batch = board.backlog.first, attempts < maxAttempts {
            let began = clock.now
            let (outcome, _) = await transport.deliver(batch, deviceID: plan.deviceID(board.index))
            let latency = clock.now - began
            counts.sent += 1
            switch outcome {
            case .acknowledged(let duplicate, let gap):
                counts.latenciesMilliseconds.append(Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15)
                if gap != nil { counts.gaps += 1 }
                if duplicate {
                    counts.duplicates += 1
                } else {
                    counts.acknowledged += 1
                    let (readings, events) = Self.recordCounts(batch, plan: plan, board: board.index)
                    counts.readingsAcknowledged += readings
                    counts.eventsAcknowledged += events
                    if board.appliedCarriers.remove(batch.sequence) != nil {
                        counts.appliedAcknowledgedAtSeconds.append(Date().timeIntervalSince1970)
                    }
                    if plan.losesAcknowledgement(board.index, batch: batch.sequence) {
                        // The answer "never arrived": the board sends the same bytes again.
                        counts.lostAcknowledgements += 1
                        continue
                    }
                }
                board.backlog.removeFirst()
                attempts = 0
            case .retry(_, let retryAfter):
                counts.retries += 1
                attempts += 1
                try? await Task.sleep(for: min(retryAfter ?? .milliseconds(50 * attempts), .seconds(2)))
            case .rejected(let status, let code, let message):
                counts.refused += 1
                counts.refusals.append("\(plan.deviceID(board.index)) seq \(batch.sequence): HTTP \(status) \(code): \(message)")
                return (board, counts)
            }
        }
        return (board, counts)
    }

    /// Readings and events in a batch, from its record count: the six meter readings come
    /// first in a regular batch; an urgent batch holds one alarm.
    static func recordCounts(_ batch: SignedBatch, plan: FleetPlan, board: Int) -> (readings: Int, events: Int) {
        let records = Int(batch.lastSpoolSequence - batch.firstSpoolSequence + 1)
        let readings = records >= FleetPlan.readingsPerMinute ? FleetPlan.readingsPerMinute : 0
        return (readings, records - readings)
    }
}
