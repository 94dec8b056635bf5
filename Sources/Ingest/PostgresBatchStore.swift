import Foundation
import Logging
import PostgresNIO
import Synchronization
import Uplink

/// The batch store on PostgreSQL, for a city: any number of stateless lamp-ingest replicas share
/// one database, and each batch is still stored exactly once (docs/lamp-ingest.md).
///
/// `accept` is one transaction: it locks the device's chain row (`SELECT … FOR UPDATE`, so two
/// replicas cannot both advance one chain), inserts the batch's ledger row keyed by (device, kid,
/// sequence) with `ON CONFLICT DO NOTHING` — a row that exists already makes the answer
/// "duplicate" or "conflict", and nothing more is written — then the batch itself, the device key,
/// the boot anchors and the new chain head; it returns only after `COMMIT`. The `batch` table is
/// partitioned by arrival month (`migrate` creates the partitions and drops those past the
/// retention); the ledger is not partitioned (it is the exactly-once key across months), and the
/// retention deletes its rows of the dropped months.
///
/// The database unreachable, restarting, out of space or slower than `operationTimeout` is
/// `busy` (HTTP 503 with Retry-After): the board retries, and the ledger makes the retry safe
/// even when the first attempt did commit.
public final class PostgresBatchStore: BatchStore {
    /// The schema version this lamp-ingest reads and writes (`migrate` brings a database to it).
    public static let schemaVersion = Int32(PostgresSchema.migrations.count)
    /// Connections per replica by default: sized with docs/performance.md's measurement.
    public static let defaultPoolSize = 10

    public let database: PostgresLocation
    public var location: String { database.redacted }
    /// The longest one store operation may take, connecting included, before it is `busy`.
    public let operationTimeout: Duration

    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    private let poolSize: Int
    /// Store operations started and not ended (each holds or waits for one connection).
    private let operations = Atomic<Int>(0)

    /// Operations holding a connection (at most the pool size) and waiting for one.
    public var pool: PoolUse? {
        let running = operations.load(ordering: .relaxed)
        return PoolUse(size: poolSize, inUse: min(running, poolSize), waiting: max(0, running - poolSize))
    }

    /// Starts a pool of at most `poolSize` connections (opened on demand) to `database`.
    public init(
        location database: PostgresLocation, poolSize: Int = defaultPoolSize, operationTimeout: Duration = .seconds(10),
        logger: Logger
    ) {
        self.database = database
        self.operationTimeout = operationTimeout
        self.logger = logger
        self.poolSize = max(1, poolSize)
        let client = PostgresClient(
            configuration: database.clientConfiguration(poolSize: max(1, poolSize), connectTimeout: .seconds(3)),
            backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
    }

    public func close() async {
        runner.cancel()
        await runner.value
    }

    // MARK: Schema

    /// Refuses a database whose schema this lamp-ingest does not know: none yet, older (run
    /// `migrate`) or newer (this lamp-ingest is older than one that migrated it).
    public func checkSchema() async throws(IngestError) {
        let version = try await run("reading the schema version") { client, logger in
            try await client.withConnection { connection in try await PostgresSchema.version(connection, logger: logger) }
        }
        try PostgresSchema.check(version, known: Self.schemaVersion, location: location)
    }

    /// Creates or upgrades the schema, idempotently (concurrent runs wait for each other), creates
    /// the `batch` partitions of this month and the next `monthsAhead`, and drops the partitions
    /// that ended more than `retentionMonths` months ago (nil: keep everything).
    /// Returns what it did, one line per step.
    public func migrate(now: Date = Date(), monthsAhead: Int = 3, retentionMonths: Int? = nil) async throws(IngestError)
        -> [String]
    {
        var report = try await run("migrating the schema") { client, logger in
            try await client.withTransaction(logger: logger) { connection in
                try await PostgresSchema.migrate(connection, known: Self.schemaVersion, logger: logger)
            }
        }
        let months = PartitionMonth.range(around: now, ahead: monthsAhead)
        for month in months {
            do {
                try await run("creating partition \(month.tableName)") { client, logger in
                    try await client.query(PostgresQuery(unsafeSQL: month.createSQL), logger: logger)
                }
            } catch {
                // Rows of that month already in the default partition: they stay there, safely.
                report.append("partition \(month.tableName) not created: \(error.message)")
            }
        }
        report.append("partitions ready up to \(months.last?.tableName ?? "?")")
        if let retentionMonths {
            let cutoff = PartitionMonth(containing: now).adding(months: -retentionMonths)
            let existing = try await run("listing partitions") { client, logger in
                var names: [String] = []
                for try await name in try await client.query(PostgresSchema.partitionsQuery, logger: logger).decode(String.self) {
                    names.append(name)
                }
                return names
            }
            for month in existing.compactMap(PartitionMonth.init(tableName:)) where month < cutoff {
                try await run("dropping partition \(month.tableName)") { client, logger in
                    try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(month.tableName)"), logger: logger)
                }
                report.append("dropped \(month.tableName) (older than \(retentionMonths) months)")
            }
            report.append(try await pruneLedger(before: cutoff))
        }
        return report
    }

    /// Deletes the ledger rows of batches received before `cutoff`'s first day, in slices of
    /// `ledgerPruneSlice` rows (each its own short transaction, so replicas storing batches are not
    /// held up). Within the retention every retransmission is still answered "duplicate"; one of a
    /// batch older than the retention — whose stored copy is gone with its month — is stored again,
    /// once, as a late batch (docs/lamp-ingest.md, "Partitions and retention").
    func pruneLedger(before cutoff: PartitionMonth) async throws(IngestError) -> String {
        let firstDay = cutoff.firstDay
        var removed: Int64 = 0
        while true {
            let slice = try await run("pruning the ledger") { client, logger in
                var count: Int64 = 0
                for try await deleted in try await client.query(
                    """
                    WITH gone AS (
                        DELETE FROM batch_ledger WHERE ctid = ANY (ARRAY(
                            SELECT ctid FROM batch_ledger WHERE received_at < CAST(\(firstDay) AS timestamptz)
                            LIMIT \(Self.ledgerPruneSlice)))
                        RETURNING 1)
                    SELECT count(*) FROM gone
                    """, logger: logger
                ).decode(Int64.self) {
                    count = deleted
                }
                return count
            }
            removed += slice
            if slice < Self.ledgerPruneSlice { break }
        }
        return "removed \(removed) ledger rows of batches received before \(firstDay.prefix(10))"
    }

    /// Ledger rows deleted per transaction by the retention.
    static let ledgerPruneSlice: Int64 = 50_000

    // MARK: Batches

    public func accept(_ batch: VerifiedBatch, bytes: [UInt8], publicKey: DevicePublicKey, receivedAt: Date)
        async throws(IngestError) -> Acceptance
    {
        guard let sequence = Int64(exactly: batch.sequence) else {
            throw IngestError(.malformedBatch, "batch sequence \(batch.sequence) is out of range")
        }
        let device = batch.deviceID
        let kid = batch.kid.hexString
        let hash = Data(batch.hash)
        let link = BatchChainLink(kid: batch.kid, sequence: batch.sequence, previousHash: batch.previousHash, hash: batch.hash)
        let anchors = BootAnchor.firstPerBoot(batch.records).map {
            (boot: $0.boot.bootID.uuidString, utc: $0.utcNanoseconds, bootNanoseconds: $0.boot.bootNanoseconds)
        }
        let recordCount = Int64(batch.records.count)
        let firstSpool = batch.firstSpoolSequence
        let lastSpool = batch.lastSpoolSequence
        let previousHash = Data(batch.previousHash)
        let cose = Data(bytes)
        let key = Data(publicKey.rawRepresentation)
        let notice = StoredBatchNotice(device: device, kid: kid, sequence: sequence)
        return try await run("storing the batch") { client, logger in
            try await client.withTransaction(logger: logger) { connection in
                // The chain row, created empty for a device's first batch, locked until COMMIT:
                // a second replica with a batch of this device waits here and then sees this one.
                try await connection.query(
                    "INSERT INTO chain (device) VALUES (\(device)) ON CONFLICT DO NOTHING", logger: logger)
                var chain: ChainState?
                for try await (kid, sequence, hash) in try await connection.query(
                    "SELECT kid, sequence, hash FROM chain WHERE device = \(device) FOR UPDATE", logger: logger
                ).decode((String?, Int64?, Data?).self) {
                    if let kid, let kidBytes = [UInt8](hexString: kid), let sequence, let last = UInt64(exactly: sequence), let hash {
                        chain = ChainState(kid: kidBytes, sequence: last, hash: Array(hash))
                    }
                }
                var isNew = false
                for try await _ in try await connection.query(
                    """
                    INSERT INTO batch_ledger (device, kid, sequence, hash, received_at)
                    VALUES (\(device), \(kid), \(sequence), \(hash), \(receivedAt))
                    ON CONFLICT DO NOTHING RETURNING true
                    """, logger: logger
                ).decode(Bool.self) {
                    isNew = true
                }
                var stored: [UInt8]?
                if !isNew {
                    for try await storedHash in try await connection.query(
                        "SELECT hash FROM batch_ledger WHERE device = \(device) AND kid = \(kid) AND sequence = \(sequence)",
                        logger: logger
                    ).decode(Data.self) {
                        stored = Array(storedHash)
                    }
                }
                let decision = AcceptanceRules.decide(link, chain: chain, storedHashForSequence: stored)
                guard case .store(let gap, let advancesChain) = decision else { return decision }
                let gapExpected = gap.flatMap { Int64(exactly: $0.expected) }
                let gapNote = gap?.note
                try await connection.query(
                    """
                    INSERT INTO batch (device, kid, sequence, hash, previous_hash, spool_first, spool_last, record_count,
                        received_at, gap_expected, gap_note, cose)
                    VALUES (\(device), \(kid), \(sequence), \(hash), \(previousHash), \(firstSpool), \(lastSpool),
                        \(recordCount), \(receivedAt), \(gapExpected), \(gapNote), \(cose))
                    """, logger: logger)
                // Sent at COMMIT only (PostgreSQL holds a transaction's notifications until then):
                // the live view of every replica loads the batch (`followStoredBatches`).
                try await connection.query(
                    "SELECT pg_notify(\(Self.batchChannel), \(notice.payload))", logger: logger)
                try await connection.query(
                    "INSERT INTO device_key (device, kid, public_key) VALUES (\(device), \(kid), \(key)) ON CONFLICT DO NOTHING",
                    logger: logger)
                for anchor in anchors {
                    try await connection.query(
                        """
                        INSERT INTO boot_anchor (device, boot_id, utc_ns, boot_ns)
                        VALUES (\(device), \(anchor.boot), \(anchor.utc), \(anchor.bootNanoseconds)) ON CONFLICT DO NOTHING
                        """, logger: logger)
                }
                if advancesChain {
                    try await connection.query(
                        "UPDATE chain SET kid = \(kid), sequence = \(sequence), hash = \(hash) WHERE device = \(device)",
                        logger: logger)
                }
                return decision
            }
        }
    }

    public func status() async throws(IngestError) -> [DeviceStatus] {
        try await run("reading the status") { client, logger in
            var result: [DeviceStatus] = []
            let rows = try await client.query(
                """
                SELECT c.device, c.kid, c.sequence, count(b.id), coalesce(sum(b.record_count), 0)::bigint,
                    count(b.gap_expected), coalesce((extract(epoch FROM max(b.received_at)) * 1000)::bigint, 0)
                FROM chain c LEFT JOIN batch b ON b.device = c.device
                WHERE c.kid IS NOT NULL
                GROUP BY c.device, c.kid, c.sequence ORDER BY c.device
                """, logger: logger)
            for try await (device, kid, sequence, batches, records, gaps, last) in rows.decode(
                (String, String, Int64, Int64, Int64, Int64, Int64).self)
            {
                result.append(
                    DeviceStatus(
                        device: device, kid: kid, lastSequence: UInt64(clamping: sequence), batches: Int(clamping: batches),
                        records: Int(clamping: records), gaps: Int(clamping: gaps), lastReceivedMilliseconds: last))
            }
            return result
        }
    }

    public func bootAnchors(device: String?) async throws(IngestError) -> [String: [UUID: BootAnchor]] {
        try await run("reading the boot anchors") { client, logger in
            var result: [String: [UUID: BootAnchor]] = [:]
            let rows = try await client.query(
                "SELECT device, boot_id, utc_ns, boot_ns FROM boot_anchor WHERE \(device)::text IS NULL OR device = \(device)",
                logger: logger)
            for try await (device, boot, utc, bootNanoseconds) in rows.decode((String, String, Int64, Int64).self) {
                guard let id = UUID(uuidString: boot) else { continue }
                result[device, default: [:]][id] = BootAnchor(utcNanoseconds: utc, bootNanoseconds: bootNanoseconds)
            }
            return result
        }
    }

    public func forEachBatch(_ filter: ExportFilter, _ body: (StoredBatch) throws -> Void) async throws {
        do {
            let query = Self.batchesQuery(filter)
            try await client.withConnection { connection in
                let rows = try await connection.query(query, logger: logger)
                for try await (device, sequence, cose, key) in rows.decode((String, Int64, Data, Data).self) {
                    try body(StoredBatch(device: device, sequence: sequence, cose: Array(cose), publicKey: Array(key)))
                }
            }
        } catch {
            throw Self.ingestError(error, doing: "reading the batches", location: location)
        }
    }

    /// The batches of `filter`, only the bounds it sets in the WHERE clause, so that the planner
    /// prunes the months before `receivedSince` and uses the (device,) received_at indexes.
    static func batchesQuery(_ filter: ExportFilter) -> PostgresQuery {
        var bindings = PostgresBindings()
        var conditions: [String] = []
        if let device = filter.device {
            bindings.append(device)
            conditions.append("b.device = $\(bindings.count)")
        }
        if let from = filter.fromSequence {
            bindings.append(Int64(clamping: from))
            conditions.append("b.sequence >= $\(bindings.count)")
        }
        if let to = filter.toSequence {
            bindings.append(Int64(clamping: to))
            conditions.append("b.sequence <= $\(bindings.count)")
        }
        if let receivedSince = filter.receivedSince {
            bindings.append(Date(timeIntervalSince1970: receivedSince.isNaN ? 0 : max(-1e11, min(1e11, receivedSince))))
            conditions.append("b.received_at >= $\(bindings.count)")
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return PostgresQuery(
            unsafeSQL: """
                SELECT b.device, b.sequence, b.cose, k.public_key FROM batch b
                JOIN device_key k ON k.device = b.device AND k.kid = b.kid
                \(whereClause) ORDER BY b.device, b.id
                """, binds: bindings)
    }

    // MARK: Following the batches of every replica

    /// The channel on which `accept` announces each batch it stored (not a duplicate), at commit:
    /// payload `<device> <kid> <sequence>` (docs/live-view.md, "Several replicas").
    public static let batchChannel = "lamp_ingest_batch"

    /// Calls `onBatch` with every batch any replica stores in this database (verified again with
    /// its stored key, as the receiver's `onStored` gets it), as long as the
    /// calling task runs: LISTENs on a connection of its own (not the pool's). `onListening` runs
    /// each time the LISTEN is (re)established, before the notifications that follow it are
    /// handled, so a caller rebuilds there what it may have missed while the connection was down
    /// (a PostgreSQL restart); the connection lost, it reconnects after `retryAfter`.
    public func followStoredBatches(
        retryAfter: Duration = .seconds(2),
        onListening: @escaping @Sendable () async throws -> Void,
        onBatch: @escaping BatchReceiver.OnStored
    ) async {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try database.connectionConfiguration(connectTimeout: .seconds(3)), id: attempt, logger: logger)
                do {
                    try await connection.listen(on: Self.batchChannel) { notifications in
                        try await onListening()
                        logger.info("following the batches of every replica", metadata: ["database": "\(location)"])
                        for try await notification in notifications {
                            guard let notice = StoredBatchNotice(payload: notification.payload) else {
                                logger.warning("ignoring a \(Self.batchChannel) notification that is not `device kid sequence`")
                                continue
                            }
                            do {
                                if let announced = try await announcedBatch(notice) {
                                    let stored = announced.batch
                                    let key = try DevicePublicKey(rawRepresentation: stored.publicKey)
                                    let batch = try BatchVerifier.verify(bytes: stored.cose, publicKey: key)
                                    await onBatch(stored.device, batch, announced.acceptance, announced.receivedAt)
                                }
                            } catch {
                                logger.warning("an announced batch could not be read: \(error)", metadata: ["device": "\(notice.device)"])
                            }
                        }
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                logger.warning(
                    "not following the other replicas' batches: \(Self.ingestError(error, doing: "listening", location: location).message); retrying in \(retryAfter)")
            }
            try? await Task.sleep(for: retryAfter)
        }
    }

    /// The stored batch `notice` announces, with its arrival and how it was accepted (a gap as
    /// stored; late when the chain's head is past it — judged when read, so a batch of the same
    /// key stored meanwhile makes it look late: its gap note is then cleared one batch early);
    /// nil when it is not stored (any more).
    public func announcedBatch(_ notice: StoredBatchNotice) async throws(IngestError) -> AnnouncedBatch? {
        try await run("reading an announced batch") { client, logger in
            var found: AnnouncedBatch?
            let rows = try await client.query(
                """
                SELECT b.cose, k.public_key, b.received_at, b.gap_expected, b.gap_note,
                    coalesce(c.kid = b.kid AND c.sequence > b.sequence, false)
                FROM batch b JOIN device_key k ON k.device = b.device AND k.kid = b.kid
                LEFT JOIN chain c ON c.device = b.device
                WHERE b.device = \(notice.device) AND b.kid = \(notice.kid) AND b.sequence = \(notice.sequence)
                ORDER BY b.id DESC LIMIT 1
                """, logger: logger)
            for try await (cose, key, receivedAt, gapExpected, gapNote, late) in rows.decode(
                (Data, Data, Date, Int64?, String?, Bool).self)
            {
                let gap = gapExpected.map {
                    SequenceGap(expected: UInt64(clamping: $0), received: UInt64(clamping: notice.sequence), note: gapNote ?? "")
                }
                found = AnnouncedBatch(
                    batch: StoredBatch(device: notice.device, sequence: notice.sequence, cose: Array(cose), publicKey: Array(key)),
                    receivedAt: receivedAt, acceptance: .store(gap: gap, advancesChain: gap != nil || !late))
            }
            return found
        }
    }

    // MARK: Errors and time limits

    /// Runs `body` within `operationTimeout`; every failure becomes the `IngestError` for it.
    ///
    /// The answer comes at the latest after `operationTimeout`, even when `body` does not end on
    /// cancellation: after a server restart a query on a pooled connection was seen to wait
    /// forever, so `body` runs in a task of its own that is cancelled and left behind, not
    /// awaited (its connection is lost to the pool until it ends).
    func run<T: Sendable>(
        _ doing: String, _ body: @escaping @Sendable (PostgresClient, Logger) async throws -> T
    ) async throws(IngestError) -> T {
        let client = client
        let logger = logger
        let timeout = operationTimeout
        let location = location
        let result: Result<T, IngestError> = await withCheckedContinuation { continuation in
            let pending = Mutex<CheckedContinuation<Result<T, IngestError>, Never>?>(continuation)
            let finish: @Sendable (Result<T, IngestError>) -> Void = { result in
                pending.withLock { $0.take() }?.resume(returning: result)
            }
            let timer = Task {
                try await Task.sleep(for: timeout)
                finish(
                    .failure(
                        IngestError(
                            .busy,
                            "\(doing) took longer than \(timeout) at \(location): the database is unreachable or overloaded; retry later"
                        )))
            }
            Task {
                // Counted until it really ends, past a timeout too: its connection is in use till then.
                self.operations.add(1, ordering: .relaxed)
                do {
                    finish(.success(try await body(client, logger)))
                } catch {
                    finish(.failure(Self.ingestError(error, doing: doing, location: location)))
                }
                self.operations.subtract(1, ordering: .relaxed)
                timer.cancel()
            }
        }
        return try result.get()
    }

    /// `busy` (retry later) when the database cannot be reached, is restarting, shutting down,
    /// out of space or resources, or aborted the transaction for a conflict; `storeFailed` otherwise.
    static func ingestError(_ error: any Error, doing: String, location: String) -> IngestError {
        if let error = error as? IngestError { return error }
        if let transaction = error as? PostgresTransactionError,
            let cause = transaction.closureError ?? transaction.commitError ?? transaction.beginError
        {
            return ingestError(cause, doing: doing, location: location)
        }
        guard let error = error as? PSQLError else {
            // The pool's own errors (no connection could be made, closed) and cancellation.
            return IngestError(.busy, "\(doing) failed, the database at \(location) is not reachable (\(error)); retry later")
        }
        guard error.code == .server, let info = error.serverInfo else {
            return IngestError(
                .busy, "\(doing) failed, the connection to \(location) was lost (\(error.code)); retry later")
        }
        let state = info[.sqlState] ?? ""
        let message = info[.message] ?? "\(error.code)"
        // 08 connection, 40 transaction rollback, 53 insufficient resources (disk full),
        // 57 operator intervention (shutdown, restart, cannot connect now).
        if ["08", "40", "53", "57"].contains(String(state.prefix(2))) {
            return IngestError(.busy, "\(doing) failed at \(location): \(message) (SQLSTATE \(state)); retry later")
        }
        return IngestError(.storeFailed, "\(doing) failed at \(location): \(message) (SQLSTATE \(state))")
    }
}

/// What `accept` announces on `PostgresBatchStore.batchChannel`: `<device> <kid> <sequence>`
/// (read from the right, so a device id with spaces still parses).
public struct StoredBatchNotice: Sendable, Equatable {
    public var device: String
    public var kid: String
    public var sequence: Int64

    public init(device: String, kid: String, sequence: Int64) {
        self.device = device
        self.kid = kid
        self.sequence = sequence
    }

    /// Nil for anything but a device, a hexadecimal kid and a whole sequence.
    public init?(payload: String) {
        let parts = payload.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count >= 3, let sequence = Int64(parts[parts.count - 1]),
            !parts[parts.count - 2].isEmpty, parts[parts.count - 2].allSatisfy(\.isHexDigit)
        else { return nil }
        let device = parts.dropLast(2).joined(separator: " ")
        guard !device.isEmpty else { return nil }
        self.init(device: device, kid: String(parts[parts.count - 2]), sequence: sequence)
    }

    public var payload: String { "\(device) \(kid) \(sequence)" }
}

/// A batch another replica (or this one) stored, as the live view takes it in.
public struct AnnouncedBatch: Sendable {
    public var batch: StoredBatch
    public var receivedAt: Date
    public var acceptance: Acceptance
}

extension PostgresLocation {
    /// The configuration of one connection of its own (the LISTEN of `followStoredBatches`).
    func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let socketDirectory {
            configuration = PostgresConnection.Configuration(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            let tls: PostgresConnection.Configuration.TLS =
                switch tlsMode {
                case .disable: .disable
                case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                }
            configuration = PostgresConnection.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = TimeAmount(connectTimeout)
        return configuration
    }
}
