import FoundationEssentials
import Uplink

/// What the board knows when it checks a document: who it is, what it applied, its clock, its limit.
public struct BoardDownlinkState: Hashable, Sendable {
    /// This board's device id.
    public var deviceID: String
    /// The version applied for each role (0 = none yet).
    public var appliedVersions: [DesiredStateRole: UInt64]
    /// Seconds since the epoch on the board's clock.
    public var nowSeconds: Int64
    /// False while NTP/GNSS has not synchronised the clock: expiry cannot be checked then.
    public var clockSynchronised: Bool
    /// `[downlink] max_override_duration`, in seconds.
    public var maximumOverrideSeconds: Int64

    public init(deviceID: String, appliedVersions: [DesiredStateRole: UInt64] = [:], nowSeconds: Int64,
                clockSynchronised: Bool, maximumOverrideSeconds: Int64) {
        self.deviceID = deviceID
        self.appliedVersions = appliedVersions
        self.nowSeconds = nowSeconds
        self.clockSynchronised = clockSynchronised
        self.maximumOverrideSeconds = maximumOverrideSeconds
    }
}

/// A document that passed every check: apply it.
public struct VerifiedDesiredState: Hashable, Sendable {
    public var state: DesiredState
    /// The role of the key that signed it: the slot it replaces on the board.
    public var role: DesiredStateRole
    /// The signing key's kid, as 16 hex digits.
    public var kidHex: String
}

/// Checks a desired-state document on the board (docs/downlink.md, "Checks").
///
/// In order: size and envelope (`malformed`), the key (`unknownKey`), the signature
/// (`badSignature`), the payload (`malformed`), the device (`otherDevice`), the role
/// (`wrongRole`), the version (`notNewer`), the clock (`clockUnsynchronised`), expiry of the
/// document and of its override (`expired`), the override's length (`overrideTooLong`).
/// Nothing outside the signature is trusted before the signature is checked.
public struct DesiredStateVerifier: Sendable {
    public var keyring: CityKeyring

    public init(keyring: CityKeyring) {
        self.keyring = keyring
    }

    /// Verifies `bytes` against `board`; throws the refusal with its named reason.
    public func verify(_ bytes: [UInt8], board: BoardDownlinkState) throws(DesiredStateRefusal) -> VerifiedDesiredState {
        let authentic = try verifyAuthentic(bytes, deviceID: board.deviceID)
        let state = authentic.state
        let applied = board.appliedVersions[authentic.role] ?? 0
        guard state.version > applied else {
            throw DesiredStateRefusal(.notNewer, "version \(state.version) is not above the applied \(authentic.role.rawValue) version \(applied) (a replay, or an older document arriving late)")
        }
        guard board.clockSynchronised else {
            throw DesiredStateRefusal(.clockUnsynchronised, "the board's clock is not synchronised, so the document's expiry cannot be checked; it is applied once NTP has synchronised the clock")
        }
        guard board.nowSeconds < state.expiresAtSeconds else {
            throw DesiredStateRefusal(.expired, "the document expired at \(state.expiresAtSeconds) (seconds since 1970), the board's clock says \(board.nowSeconds)")
        }
        if let override = state.override {
            guard board.nowSeconds < override.expirySeconds else {
                throw DesiredStateRefusal(.expired, "the override expired at \(override.expirySeconds) (seconds since 1970), the board's clock says \(board.nowSeconds)")
            }
            guard override.durationSeconds <= board.maximumOverrideSeconds else {
                throw DesiredStateRefusal(.overrideTooLong, "the override lasts \(override.durationSeconds) s, more than this board's max_override_duration of \(board.maximumOverrideSeconds) s")
            }
        }
        return authentic
    }

    /// The checks that do not depend on time or on what was applied: envelope, key, signature,
    /// payload, device and role. What the board runs on a document it stored earlier, when it
    /// starts (a key removed from the directory since then revokes it).
    public func verifyAuthentic(_ bytes: [UInt8], deviceID: String) throws(DesiredStateRefusal) -> VerifiedDesiredState {
        let envelope = try Self.open(bytes)
        guard let pinned = keyring.key(kid: envelope.kid) else {
            throw DesiredStateRefusal(.unknownKey, "signed with key \(envelope.kid.hexString), which is not pinned in this board's city-keys directory")
        }
        let toBeSigned = COSEHeader.toBeSigned(protected: envelope.protectedBytes, payload: envelope.payload)
        guard envelope.signature.count == 64, pinned.publicKey.isValidSignature(envelope.signature, for: toBeSigned) else {
            throw DesiredStateRefusal(.badSignature, "the signature does not match key \(pinned.publicKey.kidHex): the document was altered")
        }
        let state = try DesiredStateCodec.decode(envelope.payload)
        guard state.deviceID == deviceID else {
            throw DesiredStateRefusal(.otherDevice, "the document is for device \"\(state.deviceID)\", this board is \"\(deviceID)\"")
        }
        if let role = state.rolesNeeded.first(where: { $0 != pinned.role }) {
            throw DesiredStateRefusal(.wrongRole, "signed by a \(pinned.role.rawValue) key, which may not set what the \(role.rawValue) key sets ("
                + (role == .operator ? "the override" : "programs, calendar, default light state or configuration") + ")")
        }
        return VerifiedDesiredState(state: state, role: pinned.role, kidHex: pinned.publicKey.kidHex)
    }

    struct Envelope {
        var kid: [UInt8]
        var protectedBytes: [UInt8]
        var payload: [UInt8]
        var signature: [UInt8]
    }

    /// Decodes the COSE_Sign1 envelope: tag 18, four parts, alg EdDSA, no crit, the content type, a kid.
    static func open(_ bytes: [UInt8]) throws(DesiredStateRefusal) -> Envelope {
        func malformed(_ message: String) -> DesiredStateRefusal { DesiredStateRefusal(.malformed, message) }
        guard bytes.count <= DesiredStateLimits.maximumDocumentBytes else {
            throw malformed("the document has \(bytes.count) bytes, more than the \(DesiredStateLimits.maximumDocumentBytes) a board accepts")
        }
        let message: CBORValue
        do {
            message = try CBORDecoder(maximumDepth: 4, maximumLength: 4).decode(bytes)
        } catch {
            throw malformed("the document is not well-formed CBOR: \(error)")
        }
        guard case .tagged(COSEHeader.sign1Tag, .array(let parts)) = message, parts.count == 4,
              case .bytes(let protectedBytes) = parts[0], case .map(let unprotected) = parts[1],
              case .bytes(let payload) = parts[2], case .bytes(let signature) = parts[3]
        else {
            throw malformed("not a COSE_Sign1: expected tag 18 around [protected bstr, unprotected map, payload bstr, signature bstr]")
        }
        guard unprotected.isEmpty else { throw malformed("the unprotected header must be the empty map (nothing unsigned is accepted)") }
        let protected: CBORValue
        do {
            protected = try CBORDecoder(maximumDepth: 2, maximumLength: 8).decode(protectedBytes)
        } catch {
            throw malformed("the protected header is not well-formed CBOR: \(error)")
        }
        guard case .map(let header) = protected else { throw malformed("the protected header is not a map") }
        guard header[COSEHeader.algorithm]?.int64 == COSEHeader.edDSA else { throw malformed("the document is not signed with EdDSA (alg -8)") }
        guard header[COSEHeader.critical] == nil else { throw malformed("the protected header has crit, which lampd does not use") }
        guard header[COSEHeader.contentType] == .text(DesiredStateHeader.contentType) else {
            throw malformed("the content type (3) is not \"\(DesiredStateHeader.contentType)\"")
        }
        guard let kid = header[COSEHeader.keyID]?.bytes, kid.count == 8 else { throw malformed("the protected header has no 8-byte kid (4)") }
        return Envelope(kid: kid, protectedBytes: protectedBytes, payload: payload, signature: signature)
    }
}
