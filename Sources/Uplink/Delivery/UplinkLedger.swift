import Crypto
import FoundationEssentials
import Telemetry
import SystemSupport

/// The uplink's durable memory, in the state directory: the hash chain, the batch in flight and
/// the day's byte count (docs/uplink.md §4, §6).
///
/// Two files, each replaced atomically and fsync'ed (`DurableFile`):
/// - `uplink-inflight.cose`: the signed batch waiting for its acknowledgement, byte for byte, so
///   it is re-sent identically after a restart (never re-signed with another content);
/// - `uplink-state.json`: the chain (kid, last sequence signed, last batch hash), the in-flight
///   batch's header facts, the last acknowledged sequence and the day's bytes.
///
/// The batch file is written before the state that refers to it, so a power cut in between
/// leaves an orphan file (overwritten later), never a state without its batch.
public struct UplinkLedger: Codable, Sendable, Equatable {
    /// The batch awaiting its acknowledgement.
    public struct InFlight: Codable, Sendable, Equatable {
        public var sequence: UInt64
        public var kidHex: String
        public var hashHex: String
        public var firstSpoolSequence: Int64
        public var lastSpoolSequence: Int64
        public var recordCount: Int
    }

    public var version = 1
    /// Key of the last signed batch ("" before the first).
    public var kidHex = ""
    /// Sequence of the last batch signed with `kidHex` (0 before the first).
    public var lastSequence: UInt64 = 0
    /// Hash of the last signed batch ("" before the device's first batch).
    public var lastHashHex = ""
    /// The batch in flight, if any.
    public var inFlight: InFlight? = nil
    /// The last sequence the receiver acknowledged (0 before the first).
    public var acknowledgedSequence: UInt64 = 0
    /// When the last acknowledgement arrived, ns since the epoch.
    public var lastAcknowledgedUTCNanoseconds: Int64? = nil
    /// Bytes on the wire today (for `max_bytes_per_day`).
    public var budget = DailyByteBudget()

    public init() {}

    static let stateFileName = "uplink-state.json"
    static let batchFileName = "uplink-inflight.cose"

    /// Reads the ledger from `directory`; a missing file is a fresh ledger.
    public static func load(directory: String) throws -> UplinkLedger {
        let path = FilePaths.join(directory, stateFileName)
        guard FileManager.default.fileExists(atPath: path) else { return UplinkLedger() }
        let advice = "it holds the uplink's hash chain. Move it aside to start a new chain — the receiver will then flag this pole's next batch as a gap"
        let ledger: UplinkLedger
        do {
            ledger = try JSONDecoder().decode(UplinkLedger.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw UplinkError(.ledgerUnreadable, "\(path) cannot be read (\(error)); \(advice)")
        }
        if let problem = ledger.problem {
            throw UplinkError(.ledgerUnreadable, "\(path) holds \(problem); \(advice)")
        }
        return ledger
    }

    /// What makes a decoded ledger impossible, nil if nothing: the file may hold any number, and the
    /// uplink adds to and subtracts from these (next sequence, spool sequence before the batch).
    var problem: String? {
        let largestSequence = UInt64(Int64.max)  // what a receiver stores (docs/uplink.md §4)
        if lastSequence >= largestSequence { return "last batch sequence \(lastSequence), at or past \(largestSequence)" }
        if acknowledgedSequence > largestSequence { return "acknowledged sequence \(acknowledgedSequence), past \(largestSequence)" }
        if !lastHashHex.isEmpty, [UInt8](hexString: lastHashHex)?.count != 32 { return "a last batch hash that is not 64 hex digits" }
        if budget.bytes < 0 { return "a negative count of today's bytes (\(budget.bytes))" }
        guard let inFlight else { return nil }
        if inFlight.sequence < 1 || inFlight.sequence > largestSequence {
            return "in-flight batch sequence \(inFlight.sequence), outside 1…\(largestSequence)"
        }
        if inFlight.firstSpoolSequence < 1 || inFlight.lastSpoolSequence < inFlight.firstSpoolSequence {
            return "in-flight spool range [\(inFlight.firstSpoolSequence), \(inFlight.lastSpoolSequence)], not 1 ≤ first ≤ last"
        }
        // firstSpoolSequence ≥ 1, so the subtraction cannot overflow.
        if inFlight.recordCount < 1 || inFlight.recordCount - 1 > inFlight.lastSpoolSequence - inFlight.firstSpoolSequence {
            return "in-flight record count \(inFlight.recordCount), which its spool range cannot hold"
        }
        return nil
    }

    /// Writes the ledger durably. The fsyncs run off the cooperative pool
    /// (`DurableFile.replaceOffPool`), so a slow card does not stall other tasks.
    public func save(directory: String) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try await DurableFile.replaceOffPool(path: FilePaths.join(directory, Self.stateFileName), with: encoder.encode(self))
    }

    /// Writes a signed batch as the batch in flight (before the ledger names it), off the
    /// cooperative pool like `save(directory:)`.
    public static func saveBatch(_ bytes: [UInt8], directory: String) async throws {
        try await DurableFile.replaceOffPool(path: FilePaths.join(directory, batchFileName), with: bytes)
    }

    /// The bytes of the batch in flight, if the file is there and its hash matches; nil otherwise.
    public func loadInFlightBatch(directory: String) -> SignedBatch? {
        guard let inFlight else { return nil }
        let path = FilePaths.join(directory, Self.batchFileName)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let bytes = [UInt8](data)
        let hash = Array(SHA256.hash(data: bytes))
        guard hash.hexString == inFlight.hashHex else { return nil }
        return SignedBatch(bytes: bytes, sequence: inFlight.sequence, firstSpoolSequence: inFlight.firstSpoolSequence,
                           lastSpoolSequence: inFlight.lastSpoolSequence, hash: hash)
    }

    /// The sequence and previous hash for the next batch signed with `kidHex`: sequences start at 1
    /// for each key, the hash chain runs on across keys.
    public func nextLink(kidHex: String) -> (sequence: UInt64, previousHash: [UInt8]) {
        let sequence = kidHex == self.kidHex ? lastSequence + 1 : 1
        return (sequence, [UInt8](hexString: lastHashHex) ?? [])
    }

    /// Records `batch` (signed with `kidHex`, holding `recordCount` records) as signed and in flight.
    public mutating func recordSigned(_ batch: SignedBatch, kidHex: String, recordCount: Int) {
        self.kidHex = kidHex
        lastSequence = batch.sequence
        lastHashHex = batch.hash.hexString
        inFlight = InFlight(sequence: batch.sequence, kidHex: kidHex, hashHex: batch.hash.hexString,
                            firstSpoolSequence: batch.firstSpoolSequence, lastSpoolSequence: batch.lastSpoolSequence,
                            recordCount: recordCount)
    }
}
