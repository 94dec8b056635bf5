import Foundation
import Logging
import Uplink

/// Where lamp-ingest keeps accepted batches: the one interface the receiver, `status` and
/// `export` use, whichever engine is behind it.
///
/// Two engines implement it: `IngestStore` (one SQLite file, the embedded default for a pilot)
/// and `PostgresBatchStore` (PostgreSQL, for a city: several stateless lamp-ingest replicas
/// share one database). Both give the same answers to the same batches (docs/uplink.md §4):
/// `accept` applies `AcceptanceRules` and stores in one transaction that is committed before it
/// returns, so a batch is acknowledged only once it is durable, and stored at most once.
public protocol BatchStore: Sendable {
    /// Where the store is, for logs and messages (never a password).
    var location: String { get }

    /// Applies the acceptance rules to a verified batch and, if it is to be stored, stores it and
    /// moves the device's chain — in one transaction, committed before this returns.
    func accept(_ batch: VerifiedBatch, bytes: [UInt8], publicKey: DevicePublicKey, receivedAt: Date)
        async throws(IngestError) -> Acceptance

    /// One entry per device that has stored batches, ordered by device id.
    func status() async throws(IngestError) -> [DeviceStatus]

    /// Per device, per boot, the anchor that places unsynchronised records (only `device`'s if given).
    func bootAnchors(device: String?) async throws(IngestError) -> [String: [UUID: BootAnchor]]

    /// Hands every stored batch that passes `filter`'s device, sequence and received-since bounds
    /// to `body`, ordered by device, then by arrival.
    func forEachBatch(_ filter: ExportFilter, _ body: (StoredBatch) throws -> Void) async throws

    /// Releases the store's connections; the store is not used afterwards.
    func close() async

    /// How its connection pool is used now (nil: no pool, as SQLite's one connection).
    var pool: PoolUse? { get }
}

extension BatchStore {
    public var pool: PoolUse? { nil }
}

/// A store's connection pool at one moment, for `/metrics`.
public struct PoolUse: Sendable, Equatable {
    /// The most connections the pool opens (`--pool-size`).
    public var size: Int
    /// Store operations holding a connection now.
    public var inUse: Int
    /// Store operations waiting for a connection because all are in use.
    public var waiting: Int

    public init(size: Int, inUse: Int, waiting: Int) {
        self.size = size
        self.inUse = inUse
        self.waiting = waiting
    }
}

/// One stored batch as export reads it: the signed original and the key that verified it.
public struct StoredBatch: Sendable {
    public var device: String
    public var sequence: Int64
    /// The batch as signed (uncompressed COSE_Sign1).
    public var cose: [UInt8]
    /// The raw Ed25519 public key that verified it on arrival.
    public var publicKey: [UInt8]

    public init(device: String, sequence: Int64, cose: [UInt8], publicKey: [UInt8]) {
        self.device = device
        self.sequence = sequence
        self.cose = cose
        self.publicKey = publicKey
    }
}

/// One synchronised record's wall-clock and boot time, per boot of a board: places the records
/// taken before the board's clock was synchronised (docs/uplink.md §3).
public struct BootAnchor: Sendable, Equatable {
    public var utcNanoseconds: Int64
    public var bootNanoseconds: Int64

    public init(utcNanoseconds: Int64, bootNanoseconds: Int64) {
        self.utcNanoseconds = utcNanoseconds
        self.bootNanoseconds = bootNanoseconds
    }

    /// The first synchronised record with a boot time of each boot in `records`.
    static func firstPerBoot(_ records: [BatchRecord]) -> [(boot: BootTime, utcNanoseconds: Int64)] {
        var seen: Set<UUID> = []
        var result: [(boot: BootTime, utcNanoseconds: Int64)] = []
        for record in records where record.isClockSynchronised {
            if let boot = record.boot, seen.insert(boot.bootID).inserted { result.append((boot, record.utcNanoseconds)) }
        }
        return result
    }
}

/// Which store a command line names: a PostgreSQL URL (`postgres://` or `postgresql://`) or a
/// SQLite file path.
public enum StoreLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// Reads `text`: a `postgres://` / `postgresql://` URL, otherwise a file path.
    public init(_ text: String) throws(IngestError) {
        let lowered = text.lowercased()
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(url: text))
        } else if lowered.contains("://") {
            throw IngestError(
                .invalidArgument,
                "the store \(text.prefix(40))… is neither a file path nor a postgres:// URL; give a SQLite file or postgres://user:password@host:5432/database")
        } else if text.isEmpty {
            throw IngestError(.invalidArgument, "the store is empty: give a SQLite file or a postgres:// URL")
        } else {
            self = .sqlite(path: text)
        }
    }

    /// Opens the store. `mustExist` refuses to create a new, empty SQLite file (for status and
    /// export); a PostgreSQL store must carry the schema this lamp-ingest knows (`migrate` makes it).
    public func open(mustExist: Bool, poolSize: Int = PostgresBatchStore.defaultPoolSize, logger: Logger)
        async throws(IngestError) -> any BatchStore
    {
        switch self {
        case .sqlite(let path):
            if mustExist, !FileManager.default.fileExists(atPath: path) {
                throw IngestError(.invalidArgument, "no ingest database at \(path): check --store (serve creates it)")
            }
            return try IngestStore(path: path)
        case .postgres(let location):
            return try await PostgresBatchStore.opened(location: location, poolSize: poolSize, logger: logger)
        }
    }

    /// Opens the published desired-state store (`--desired-state`): a SQLite file, or the
    /// `published` table of a PostgreSQL database, which must carry the schema this lamp-ingest knows.
    public func openPublishedStateStore(logger: Logger) async throws(IngestError) -> any PublishedStateStore {
        switch self {
        case .sqlite(let path):
            return try SQLitePublishedStateStore(path: path)
        case .postgres(let location):
            return PostgresPublishedStateStore(
                connections: try await PostgresBatchStore.opened(
                    location: location, poolSize: PostgresPublishedStateStore.defaultPoolSize, logger: logger))
        }
    }
}

extension PostgresBatchStore {
    /// A pool to `location` whose schema is the one this lamp-ingest knows (else closed, and the error).
    static func opened(location: PostgresLocation, poolSize: Int, logger: Logger) async throws(IngestError) -> PostgresBatchStore {
        let store = PostgresBatchStore(location: location, poolSize: poolSize, logger: logger)
        do {
            try await store.checkSchema()
        } catch {
            await store.close()
            throw error
        }
        return store
    }
}
