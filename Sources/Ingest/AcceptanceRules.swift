/// Where a device's hash chain stands: the key, sequence and hash of its last accepted batch.
public struct ChainState: Sendable, Equatable {
    /// The key id (8 bytes) of the last accepted batch.
    public var kid: [UInt8]
    /// Its batch sequence.
    public var sequence: UInt64
    /// Its batch hash (SHA-256 of the batch bytes, 32 bytes).
    public var hash: [UInt8]

    public init(kid: [UInt8], sequence: UInt64, hash: [UInt8]) {
        self.kid = kid
        self.sequence = sequence
        self.hash = hash
    }
}

/// What the receiver learnt from a verified batch's header, for the acceptance rules.
public struct BatchChainLink: Sendable, Equatable {
    public var kid: [UInt8]
    public var sequence: UInt64
    public var previousHash: [UInt8]
    public var hash: [UInt8]

    public init(kid: [UInt8], sequence: UInt64, previousHash: [UInt8], hash: [UInt8]) {
        self.kid = kid
        self.sequence = sequence
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// Batches missing before a stored one: sequence `expected` was due, `received` arrived.
public struct SequenceGap: Sendable, Equatable, Codable {
    /// The sequence the receiver expected next (1 for a device's first key, or a new key).
    public var expected: UInt64
    /// The sequence that arrived.
    public var received: UInt64
    /// Why it is a gap, for the operator (stored with the batch, not sent to the board).
    public var note: String

    public init(expected: UInt64, received: UInt64, note: String) {
        self.expected = expected
        self.received = received
        self.note = note
    }
}

/// The decision for one verified batch.
public enum Acceptance: Sendable, Equatable {
    /// Store the batch; with `gap` when batches are missing before it. `advancesChain` is false
    /// for a late batch that fills a hole below the chain's head (the head stays where it is).
    case store(gap: SequenceGap?, advancesChain: Bool)
    /// A retransmission of a stored batch: acknowledge again, store nothing.
    case duplicate
    /// Another batch with this key and sequence is stored: refuse (HTTP 409).
    case conflict(storedHash: [UInt8])
}

/// The receiver rules of docs/uplink.md §4, per device: pure, no I/O.
///
/// | batch | decision |
/// |---|---|
/// | first batch of the device: sequence 1, empty previous hash | store |
/// | first batch of the device, otherwise | store, gap (expected 1) |
/// | same kid, sequence = last + 1, previous hash = last hash | store |
/// | same kid, sequence = last + 1, previous hash ≠ last hash | store, gap (chain broken) |
/// | any kid, a batch with this kid and sequence is stored, same hash | duplicate |
/// | any kid, a batch with this kid and sequence is stored, other hash | conflict |
/// | same kid, sequence ≤ last, nothing stored with it | store late, chain head unchanged, no gap |
/// | same kid, sequence > last + 1 | store, gap (expected last + 1) |
/// | new kid, sequence 1, previous hash = last hash | store (key rotation), switch to the new kid |
/// | new kid, otherwise | store, gap (expected 1), switch to the new kid |
public enum AcceptanceRules {
    /// Decides on `batch`, given the device's chain state (`nil` before its first batch) and the
    /// hash of the batch stored with the same kid and sequence, if any.
    public static func decide(_ batch: BatchChainLink, chain: ChainState?, storedHashForSequence: [UInt8]?) -> Acceptance {
        if let stored = storedHashForSequence {
            return stored == batch.hash ? .duplicate : .conflict(storedHash: stored)
        }
        guard let chain, batch.kid == chain.kid else {
            return startOfKey(batch, previousChain: chain)
        }
        if batch.sequence <= chain.sequence { return .store(gap: nil, advancesChain: false) }
        let expected = chain.sequence + 1
        if batch.sequence > expected {
            let missing = expected == batch.sequence - 1 ? "batch \(expected) is" : "batches \(expected)–\(batch.sequence - 1) are"
            return .store(
                gap: SequenceGap(expected: expected, received: batch.sequence, note: "\(missing) missing"),
                advancesChain: true)
        }
        if batch.previousHash != chain.hash {
            return .store(
                gap: SequenceGap(
                    expected: expected, received: batch.sequence,
                    note: batch.previousHash.isEmpty
                        ? "previous hash is empty: the board lost its state directory"
                        : "previous hash does not match the last stored batch: the chain is broken"),
                advancesChain: true)
        }
        return .store(gap: nil, advancesChain: true)
    }

    /// A device's first batch (`previousChain` nil) or the first batch of a new key: in order
    /// when it is sequence 1 and continues the chain (empty previous hash for a first batch).
    static func startOfKey(_ batch: BatchChainLink, previousChain: ChainState?) -> Acceptance {
        let what = previousChain == nil ? "first batch from this device" : "new key"
        if batch.sequence == 1 {
            guard batch.previousHash != (previousChain?.hash ?? []) else { return .store(gap: nil, advancesChain: true) }
            return .store(
                gap: SequenceGap(
                    expected: 1, received: 1,
                    note: "\(what): previous hash does not match the last stored batch (batches before it were never received)"),
                advancesChain: true)
        }
        return .store(
            gap: SequenceGap(
                expected: 1, received: batch.sequence, note: "\(what): batches 1–\(batch.sequence - 1) were never received"),
            advancesChain: true)
    }
}
