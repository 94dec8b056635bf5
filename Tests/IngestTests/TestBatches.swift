import Foundation
import Ingest
@testable import Telemetry

@testable import Uplink
import Clocks

/// A simulated board for the tests: a device key, and batches signed in chain order.
struct TestBoard {
    let identity: DeviceIdentity
    private(set) var sequence: UInt64 = 0
    private(set) var previousHash: [UInt8] = []
    private(set) var spoolSequence: Int64 = 0

    /// 2025-10-01T18:00:00Z.
    static let baseUTCNanoseconds: Int64 = 1_759_341_600_000_000_000
    static let bootID = UUID(uuidString: "6F1C9A0E-3B52-4D8E-9F07-2A64C1D0B3E5") ?? UUID()

    init(device: String = "pole-0042", seedByte: UInt8 = 1) throws {
        identity = DeviceIdentity(
            deviceID: try DeviceID(device), key: try DeviceKey(seed: [UInt8](repeating: seedByte, count: 32)))
    }

    var publicKey: DevicePublicKey { identity.key.publicKey }
    var device: String { identity.deviceID.rawValue }

    /// A numeric reading on `channel` at `utcNanoseconds`, `bootNanoseconds` after boot `bootID`.
    static func reading(
        sequence: Int64, _ channel: String, _ value: Double, unit: SenMLUnit = .watt, utcNanoseconds: Int64,
        bootNanoseconds: Int64, synchronised: Bool = true
    ) -> SpooledRecord {
        let time = Timestamp(
            utcNanoseconds: utcNanoseconds, bootNanoseconds: bootNanoseconds, bootID: bootID,
            isClockSynchronised: synchronised)
        let channel = ChannelName(rawValue: channel) ?? ChannelName(rawValue: "invalid")!
        return SpooledRecord(
            sequence: sequence, record: .reading(Reading(channel: channel, value: .number(value), unit: unit, time: time)))
    }

    /// `count` power readings, one per second from `startSecond`.
    mutating func records(count: Int, startSecond: Int = 0) -> [SpooledRecord] {
        (0..<count).map { i in
            spoolSequence += 1
            let offset = Int64(startSecond + i) * 1_000_000_000
            return Self.reading(
                sequence: spoolSequence, "lamp1/power", 40 + Double(i) / 2, utcNanoseconds: Self.baseUTCNanoseconds + offset,
                bootNanoseconds: 3_600_000_000_000 + offset)
        }
    }

    /// Signs `records` as the next batch of the chain.
    mutating func next(_ records: [SpooledRecord]) throws -> SignedBatch {
        let payload = try BatchBuilder(deviceID: identity.deviceID).build(records: records)
        sequence += 1
        let batch = BatchSigner(identity: identity).sign(payload: payload, sequence: sequence, previousHash: previousHash)
        previousHash = batch.hash
        return batch
    }

    /// The next batch of `count` readings.
    mutating func next(count: Int = 3) throws -> SignedBatch {
        try next(records(count: count, startSecond: Int(spoolSequence)))
    }

    /// Signs a batch with an arbitrary sequence and previous hash, without moving the chain.
    func signed(sequence: UInt64, previousHash: [UInt8], records: [SpooledRecord]) throws -> SignedBatch {
        let payload = try BatchBuilder(deviceID: identity.deviceID).build(records: records)
        return BatchSigner(identity: identity).sign(payload: payload, sequence: sequence, previousHash: previousHash)
    }

    /// Switches to a new key, keeping the chain (what `lampctl identity rotate` does).
    mutating func rotate(seedByte: UInt8) throws {
        self = try TestBoard(rotating: self, seedByte: seedByte)
    }

    private init(rotating old: TestBoard, seedByte: UInt8) throws {
        identity = DeviceIdentity(
            deviceID: old.identity.deviceID, key: try DeviceKey(seed: [UInt8](repeating: seedByte, count: 32)))
        sequence = 0
        previousHash = old.previousHash
        spoolSequence = old.spoolSequence
    }
}

/// Writes an enrolled-keys file in `directory` with the boards' keys; returns its path.
func enrolledKeysFile(_ boards: [TestBoard], in directory: URL) throws -> String {
    let path = directory.appendingPathComponent("enrolled-keys").path
    for board in boards {
        try EnrolledKeys.enroll(device: board.identity.deviceID, key: board.publicKey, comment: nil, path: path)
    }
    return path
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
