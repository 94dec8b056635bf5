import Crypto
import FoundationEssentials
import Telemetry
import Clocks

/// A batch whose signature checked out, with its header and its records decoded.
public struct VerifiedBatch: Hashable, Sendable {
    /// The device id from the protected header.
    public var deviceID: String
    /// The key id (8 bytes) from the protected header.
    public var kid: [UInt8]
    /// The batch sequence number.
    public var sequence: UInt64
    /// SHA-256 of the previous batch (32 bytes), or empty for the device's first batch.
    public var previousHash: [UInt8]
    /// Spool sequence of the first record.
    public var firstSpoolSequence: Int64
    /// Spool sequence of the last record.
    public var lastSpoolSequence: Int64
    /// Records the board still held after this batch's when it signed it (header -65541);
    /// nil when the board does not send it (older lampd).
    public var spoolBacklog: Int64?
    /// SHA-256 of the whole batch: what the next batch's `previousHash` must be.
    public var hash: [UInt8]
    /// The SenML records, resolved (base name and base time applied).
    public var records: [BatchRecord]
}

/// The boot a time belongs to: the kernel's boot id and CLOCK_BOOTTIME in nanoseconds.
public struct BootTime: Hashable, Sendable {
    /// The kernel's random id of that boot.
    public var bootID: UUID
    /// Nanoseconds since that boot.
    public var bootNanoseconds: Int64
}

/// One resolved record of a verified batch: a reading or an event.
public struct BatchRecord: Hashable, Sendable {
    /// What kind of record it is.
    public enum Kind: Hashable, Sendable {
        /// A periodic reading.
        case reading
        /// An event of `kind` (e.g. `door.opened`) with its severity.
        case event(kind: String, severity: EventSeverity)
    }

    /// Reading or event.
    public var kind: Kind
    /// The full SenML name (base name + name).
    public var name: String
    /// For a reading, its channel; for an event, the channel it concerns, if any.
    public var channel: String?
    /// A reading's value, or the value that goes with an event.
    public var value: ReadingValue?
    /// The primary SenML unit of a numeric reading, "" if none.
    public var unit: String
    /// An event's message.
    public var message: String?
    /// Time in nanoseconds since the Unix epoch (untrustworthy if `!isClockSynchronised`).
    public var utcNanoseconds: Int64
    /// False if the board's clock was not synchronised: place the record by `boot` instead.
    public var isClockSynchronised: Bool
    /// Boot id and boot time, on unsynchronised records and on each boot's anchor record.
    public var boot: BootTime?
    /// Reading quality (uncertain, bad; clockUnsynchronised follows `isClockSynchronised`).
    public var quality: ReadingQuality
}

/// A batch whose COSE_Sign1 envelope decoded, before its signature is checked. Only `deviceID`
/// and `kid` may be read, and only to pick the key to verify with (`verify(with:)`).
public struct SignedEnvelope: Sendable {
    /// The device id claimed by the protected header (unverified).
    public let deviceID: String
    /// The key id claimed by the protected header (unverified).
    public let kid: [UInt8]
    let bytes: [UInt8]
    let protectedBytes: [UInt8]
    let protected: [CBORValue: CBORValue]
    let payload: [UInt8]
    let signature: [UInt8]

    /// Checks the signature with `publicKey`, then the lampd headers and the SenML pack.
    public func verify(with publicKey: DevicePublicKey) throws(UplinkError) -> VerifiedBatch {
        guard kid == publicKey.kid else {
            throw UplinkError(
                .unknownKey,
                "batch is signed with key \(kid.hexString), not with \(publicKey.kidHex): was the key rotated? "
                    + "use the public key shown by `lampctl identity show` on the board")
        }
        let toBeSigned = BatchSigner.toBeSigned(protected: protectedBytes, payload: payload)
        guard signature.count == 64, publicKey.isValidSignature(signature, for: toBeSigned) else {
            throw UplinkError(.badSignature, "the signature does not match: the batch was altered or not signed by \(publicKey.kidHex)")
        }

        guard let contentType = protected[COSEHeader.contentType],
            contentType == .unsigned(COSEHeader.senMLCBORContentFormat) || contentType == .text("application/senml+cbor")
        else {
            throw UplinkError(.malformedBatch, "content type is not application/senml+cbor (112)")
        }
        guard case .unsigned(let sequence)? = protected[COSEHeader.batchSequence],
            let previousHash = protected[COSEHeader.previousBatchHash]?.bytes, previousHash.isEmpty || previousHash.count == 32,
            let range = protected[COSEHeader.spoolSequenceRange]?.array
        else {
            throw UplinkError(
                .malformedBatch,
                "the protected header lacks a valid sequence (-65538), previous hash (-65539) or spool range (-65540)")
        }
        // A board numbers each key's batches from 1; a receiver stores them as SQL integers (< 2^63).
        guard sequence >= 1, sequence <= UInt64(Int64.max) else {
            throw UplinkError(.malformedBatch, "batch sequence \(sequence) is outside 1…\(Int64.max): a board numbers each key's batches from 1")
        }
        // Spool sequence numbers start at 1 on the board and increase by one per record.
        guard range.count == 2, let firstSpool = range[0].int64, let lastSpool = range[1].int64, firstSpool >= 1, lastSpool >= firstSpool
        else {
            throw UplinkError(
                .malformedBatch, "the spool range \(range) is not [first, last] with 1 ≤ first ≤ last ≤ \(Int64.max)")
        }
        let spoolBacklog = try Self.spoolBacklog(protected[COSEHeader.spoolBacklog])
        let records = try SenMLPackReader.records(payload)
        // Each record has its own spool sequence number (records dropped on the board leave holes).
        // firstSpool ≥ 1, so the subtraction cannot overflow.
        guard records.count - 1 <= lastSpool - firstSpool else {
            throw UplinkError(
                .malformedBatch,
                "the spool range [\(firstSpool), \(lastSpool)] has fewer sequence numbers than the pack's \(records.count) records")
        }
        return VerifiedBatch(
            deviceID: deviceID,
            kid: kid,
            sequence: sequence,
            previousHash: previousHash,
            firstSpoolSequence: firstSpool,
            lastSpoolSequence: lastSpool,
            spoolBacklog: spoolBacklog,
            hash: Array(SHA256.hash(data: bytes)),
            records: records
        )
    }

    /// The optional spool backlog (-65541): absent is unknown; anything but a uint ≤ 2^63 − 1 is malformed.
    static func spoolBacklog(_ field: CBORValue?) throws(UplinkError) -> Int64? {
        guard let field else { return nil }
        guard case .unsigned(let count) = field, let backlog = Int64(exactly: count) else {
            throw UplinkError(.malformedBatch, "the spool backlog (-65541) \(field) is not a whole number 0…\(Int64.max)")
        }
        return backlog
    }
}

/// Checks a batch's COSE_Sign1 signature with a device's public key and decodes it; what the
/// upstream receiver (lamp-ingest) runs on every batch it gets.
///
/// It checks: tag 18; four elements; `alg` EdDSA in the protected header; no `crit`; the `kid`
/// is the given key's; the Ed25519 signature over the Sig_structure; then the lampd headers and
/// the SenML pack. Sequence and previous-hash continuity are the receiver's to check against
/// what it stored (docs/uplink.md), since only it knows the previous batch.
///
/// A receiver that holds many keys calls `open` first, picks the key by the envelope's device id
/// and kid, then `verify(with:)`: the batch is decoded once.
public enum BatchVerifier {
    /// Verifies and decodes `bytes`.
    public static func verify(bytes: some Collection<UInt8>, publicKey: DevicePublicKey) throws(UplinkError) -> VerifiedBatch {
        try open(bytes: bytes).verify(with: publicKey)
    }

    /// Decodes the envelope and checks what needs no key: tag 18, four elements, alg EdDSA, no
    /// `crit`, a kid and a device id in the protected header.
    public static func open(bytes: some Collection<UInt8>) throws(UplinkError) -> SignedEnvelope {
        let bytes = Array(bytes)
        // Nothing here is signed yet: four items at the top, an empty unprotected map, and a small
        // protected header, so that an unauthenticated body cannot make the decoder allocate much.
        let message = try decodeCBOR(bytes, what: "batch", maximumLength: 4)
        guard case .tagged(COSEHeader.sign1Tag, .array(let parts)) = message, parts.count == 4 else {
            throw UplinkError(.malformedBatch, "not a tagged COSE_Sign1: expected tag 18 around an array of 4 items")
        }
        guard case .bytes(let protectedBytes) = parts[0], case .map(let unprotected) = parts[1], case .bytes(let payload) = parts[2],
            case .bytes(let signature) = parts[3]
        else {
            throw UplinkError(
                .malformedBatch,
                "COSE_Sign1 must hold [protected bstr, unprotected map, payload bstr, signature bstr] (detached payloads are not used)")
        }
        // Nothing in the unprotected header is signed: lampd sends it empty, and nothing unsigned is stored.
        guard unprotected.isEmpty else {
            throw UplinkError(
                .malformedBatch, "the unprotected header holds \(unprotected.count) entries: it must be the empty map (nothing unsigned is accepted)")
        }
        guard protectedBytes.count <= maximumProtectedHeaderBytes else {
            throw UplinkError(
                .malformedBatch, "the protected header has \(protectedBytes.count) bytes, more than the \(maximumProtectedHeaderBytes) a lampd header can need")
        }
        guard case .map(let protected) = try decodeCBOR(protectedBytes, what: "protected header", maximumLength: 16) else {
            throw UplinkError(.malformedBatch, "the protected header is not a map")
        }
        guard protected[COSEHeader.algorithm]?.int64 == COSEHeader.edDSA else {
            throw UplinkError(
                .unsupportedAlgorithm,
                "batch is not signed with EdDSA (alg -8); its alg is \(protected[COSEHeader.algorithm].map { "\($0)" } ?? "missing")")
        }
        guard protected[COSEHeader.critical] == nil else {
            throw UplinkError(.malformedBatch, "the protected header has a crit parameter, which lampd does not use")
        }
        guard let kid = protected[COSEHeader.keyID]?.bytes else {
            throw UplinkError(.malformedBatch, "the protected header has no kid")
        }
        guard let deviceID = protected[COSEHeader.deviceID]?.text else {
            throw UplinkError(.malformedBatch, "the protected header has no device id (-65537)")
        }
        return SignedEnvelope(deviceID: deviceID, kid: kid, bytes: bytes, protectedBytes: protectedBytes,
                              protected: protected, payload: payload, signature: signature)
    }

    /// The largest protected header accepted (lampd's is about 90 bytes).
    public static let maximumProtectedHeaderBytes = 1024
    /// The most records (and fields of one record) a pack may hold: lampd's `max_batch_records`
    /// goes up to 100 000.
    public static let maximumRecords = 100_000

    static func decodeCBOR(_ bytes: [UInt8], what: String, maximumLength: Int) throws(UplinkError) -> CBORValue {
        do {
            return try CBORDecoder(maximumLength: maximumLength).decode(bytes)
        } catch {
            throw UplinkError(.malformedBatch, "the \(what) is not well-formed CBOR", underlying: error)
        }
    }
}

/// Reads the SenML packs lampd sends back into records (the inverse of `BatchBuilder`).
enum SenMLPackReader {
    static let knownLabels: Set<CBORValue> = [
        SenMLLabel.baseName, SenMLLabel.baseTime, SenMLLabel.name, SenMLLabel.unit, SenMLLabel.value,
        SenMLLabel.stringValue, SenMLLabel.booleanValue, SenMLLabel.time, SenMLLabel.quality, SenMLLabel.severity,
        SenMLLabel.eventValue, SenMLLabel.unsynchronisedBoot, SenMLLabel.bootAnchor,
    ]

    static func records(_ payload: [UInt8]) throws(UplinkError) -> [BatchRecord] {
        let pack: CBORValue
        do {
            pack = try CBORDecoder(maximumLength: BatchVerifier.maximumRecords).decode(payload)
        } catch {
            throw UplinkError(.malformedPayload, "the payload is not well-formed CBOR", underlying: error)
        }
        guard case .array(let entries) = pack else {
            throw UplinkError(.malformedPayload, "a SenML pack is an array of records")
        }
        guard !entries.isEmpty else {
            throw UplinkError(.malformedPayload, "the SenML pack has no record: a board never sends an empty batch")
        }
        var baseName = ""
        var baseTimeNanoseconds: Int64 = 0
        var records: [BatchRecord] = []
        records.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            func bad(_ what: String) -> UplinkError {
                UplinkError(.malformedPayload, "SenML record \(index): \(what)")
            }
            guard case .map(let fields) = entry else { throw bad("not a map") }
            for label in fields.keys where !knownLabels.contains(label) {
                if case .text(let t) = label, t.hasSuffix("_") { throw bad("unknown must-understand label \(t)") }
            }
            if let bn = fields[SenMLLabel.baseName] {
                guard let text = bn.text else { throw bad("bn is not text") }
                baseName = text
            }
            if let bt = fields[SenMLLabel.baseTime] {
                guard let seconds = bt.int64, let nanoseconds = CheckedTime.nanoseconds(fromWholeSeconds: seconds) else {
                    throw bad("bt \(bt) is not whole seconds within ±\(Int64.max / CheckedTime.nanosecondsPerSecond) (the years 1677–2262)")
                }
                baseTimeNanoseconds = nanoseconds
            }
            guard let n = fields[SenMLLabel.name]?.text else { throw bad("no name") }
            var time = baseTimeNanoseconds
            if let t = fields[SenMLLabel.time] {
                guard let offset = t.number, let offsetNanoseconds = CheckedTime.nanoseconds(fromSeconds: offset) else {
                    throw bad("t \(t) is not a finite number of seconds within ±9.2e9")
                }
                guard let sum = CheckedTime.sum(baseTimeNanoseconds, offsetNanoseconds) else {
                    throw bad("bt + t is outside the years 1677–2262 (64-bit nanoseconds since 1970)")
                }
                time = sum
            }
            var unit = ""
            if let u = fields[SenMLLabel.unit] {
                guard let text = u.text else { throw bad("u is not text") }
                unit = text
            }
            let unsynchronised = try boot(fields[SenMLLabel.unsynchronisedBoot], index: index)
            let anchor = try boot(fields[SenMLLabel.bootAnchor], index: index)
            var quality = ReadingQuality()
            if let q = fields[SenMLLabel.quality] {
                guard let raw = q.int64, let bits = UInt8(exactly: raw) else { throw bad("q \(q) is not a whole number 0–255") }
                quality = ReadingQuality(rawValue: bits)
            }
            if unsynchronised != nil { quality.insert(.clockUnsynchronised) }
            var record = BatchRecord(
                kind: .reading, name: baseName + n, channel: n, value: nil,
                unit: unit, message: nil, utcNanoseconds: time,
                isClockSynchronised: unsynchronised == nil, boot: unsynchronised ?? anchor, quality: quality)
            if let severityField = fields[SenMLLabel.severity] {
                guard let raw = severityField.int64, let severity = EventSeverity(rawValue: Int(raw)) else {
                    throw bad("sev is not 0, 1 or 2")
                }
                let kindStart = n.ranges(of: "/event/").last.map { ($0.upperBound, String(n[..<$0.lowerBound])) }
                    ?? (n.hasPrefix("event/") ? (n.index(n.startIndex, offsetBy: 6), nil) : nil)
                guard let (start, channel) = kindStart else { throw bad("event name \(n) has no /event/") }
                record.kind = .event(kind: String(n[start...]), severity: severity)
                record.channel = channel
                record.message = fields[SenMLLabel.stringValue]?.text
                record.value = try value(fields[SenMLLabel.eventValue], index: index)
            } else if let v = fields[SenMLLabel.value] {
                guard let number = v.number else { throw bad("v is not a number") }
                record.value = .number(number)
            } else if let vs = fields[SenMLLabel.stringValue] {
                guard let text = vs.text else { throw bad("vs is not text") }
                record.value = .string(text)
            } else if let vb = fields[SenMLLabel.booleanValue] {
                guard case .bool(let b) = vb else { throw bad("vb is not a boolean") }
                record.value = .boolean(b)
            } else {
                throw bad("no value")
            }
            records.append(record)
        }
        return records
    }

    static func value(_ field: CBORValue?, index: Int) throws(UplinkError) -> ReadingValue? {
        switch field {
        case nil: return nil
        case .bool(let b)?: return .boolean(b)
        case .text(let s)?: return .string(s)
        case let other?:
            guard let n = other.number else {
                throw UplinkError(.malformedPayload, "SenML record \(index): val is not a number, boolean or text")
            }
            return .number(n)
        }
    }

    static func boot(_ field: CBORValue?, index: Int) throws(UplinkError) -> BootTime? {
        guard let field else { return nil }
        guard let parts = field.array, parts.count == 2, let id = parts[0].bytes, id.count == 16,
            let nanoseconds = parts[1].int64, nanoseconds >= 0
        else {
            throw UplinkError(.malformedPayload, "SenML record \(index): boot is not [16-byte boot id, nanoseconds since boot ≥ 0]")
        }
        let uuid = id.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }
        return BootTime(bootID: UUID(uuid: uuid), bootNanoseconds: nanoseconds)
    }
}
