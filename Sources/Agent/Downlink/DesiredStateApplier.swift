import ControlProtocol
import Downlink
import FoundationEssentials
import LampdConfig
import Lighting
import Logging
import Telemetry
import Clocks

/// Applies the city's signed desired state on the board (docs/downlink.md, "On the board").
///
/// A document is verified (`DesiredStateVerifier`: signature, pinned key and its role, device,
/// version above the applied one of its role, not expired, override not too long), then stored
/// (`StoredDesiredState`, replaced durably), then handed to the lighting service as
/// `CityDirections`. Every outcome is an event that goes upstream in the signed batches:
/// `downlink.applied` or `downlink.refused` (channel `downlink.<role>`, value the version,
/// message starting with the named reason). A refused document changes nothing.
///
/// The scheduler document's remote `configuration` is put in effect through `RemoteSettings`
/// (the uplink and the pollers read it); a document naming a source this board does not poll
/// is refused (`unknownSetting`).
///
/// At start the stored documents are verified again (a key removed from the keys directory
/// revokes what it signed) and handed to the lighting service and the settings.
public actor DesiredStateApplier {
    let deviceID: String
    let configuration: DownlinkConfiguration
    let directory: String
    let lighting: LightingService?
    let settings: RemoteSettings?
    let sink: any TelemetrySink
    let timeSource: any TimeSource
    let logger: Logger
    let verifier: DesiredStateVerifier
    let keyProblems: [String]

    private var applied: [DesiredStateRole: (verified: VerifiedDesiredState, stored: StoredDesiredState)] = [:]
    private var lastOutcome: DownlinkStatus.Outcome?

    /// `settings` nil: a remote `configuration` is checked and stored but not put in effect.
    public init(deviceID: String, configuration: DownlinkConfiguration, stateDirectory: String, lighting: LightingService?,
                settings: RemoteSettings? = nil, sink: any TelemetrySink, timeSource: any TimeSource, logger: Logger) {
        self.deviceID = deviceID
        self.configuration = configuration
        self.directory = stateDirectory
        self.lighting = lighting
        self.settings = settings
        self.sink = sink
        self.timeSource = timeSource
        self.logger = logger
        let (keyring, problems) = CityKeyring.load(directory: configuration.keysDirectory)
        self.verifier = DesiredStateVerifier(keyring: keyring)
        self.keyProblems = problems
        for problem in problems {
            logger.warning("city keys", metadata: ["problem": "\(problem)"])
        }
    }

    /// Reads the stored documents, verifies them again and hands them to the lighting service.
    public func restore() async {
        for role in DesiredStateRole.allCases {
            let name = StoredDesiredState.fileName(role: role.rawValue)
            let stored: StoredDesiredState?
            do { stored = try LampStateStore.load(StoredDesiredState.self, directory: directory, name: name) } catch {
                noteStoredProblem(role, "\(name) is unreadable (\(error))")
                continue
            }
            guard let stored else { continue }
            guard let bytes = Data(base64Encoded: stored.document) else {
                noteStoredProblem(role, "\(name) does not hold a base64 document")
                continue
            }
            do {
                let verified = try verifier.verifyAuthentic(Array(bytes), deviceID: deviceID)
                guard verified.role == role else {
                    noteStoredProblem(role, "\(name) holds a document signed by a \(verified.role.rawValue) key")
                    continue
                }
                applied[role] = (verified, stored)
            } catch {
                noteStoredProblem(role, "\(name) no longer verifies: \(error.description)")
            }
        }
        await handOn(restoring: true)
    }

    private func noteStoredProblem(_ role: DesiredStateRole, _ problem: String) {
        logger.error("stored desired state", metadata: ["role": "\(role.rawValue)", "problem": "\(problem)"])
        sink.record(Event(kind: "downlink.stored-unusable", severity: .warning, channel: Self.channel(role), time: timeSource.now(),
                          message: "the stored \(role.rawValue) document is not used, the lamp follows what remains: \(problem)"))
    }

    static func channel(_ role: DesiredStateRole) -> ChannelName? { ChannelName(rawValue: "downlink.\(role.rawValue)") }

    /// Verifies `bytes`; if every check passes, stores it, hands it to the lamp and records
    /// `downlink.applied`; otherwise records `downlink.refused` and throws the refusal.
    @discardableResult
    public func apply(_ bytes: [UInt8], via: String, fetchedAt: Date? = nil) async throws(DesiredStateRefusal) -> DownlinkStatus {
        let now = timeSource.now()
        let board = BoardDownlinkState(
            deviceID: deviceID, appliedVersions: applied.mapValues { $0.verified.state.version },
            nowSeconds: now.utcNanoseconds / 1_000_000_000, clockSynchronised: now.isClockSynchronised,
            maximumOverrideSeconds: configuration.maxOverrideSeconds)
        let verified: VerifiedDesiredState
        do {
            verified = try verifier.verify(bytes, board: board)
        } catch {
            refuse(error, bytes: bytes, now: now)
            throw error
        }
        let role = verified.role
        if let settings, let remote = verified.state.configuration, let problem = settings.problem(with: remote) {
            let refusal = DesiredStateRefusal(.unknownSetting, "version \(verified.state.version): \(problem); nothing of it is applied")
            refuse(refusal, bytes: bytes, now: now)
            throw refusal
        }
        let stored = StoredDesiredState(document: Data(bytes).base64EncodedString(), version: verified.state.version,
                                        fetchedAt: fetchedAt ?? now.date, appliedAt: now.date, via: via)
        do {
            try await LampStateStore.save(stored, directory: directory, name: StoredDesiredState.fileName(role: role.rawValue))
        } catch {
            // Not stored, so not applied: after a restart the board would not know it.
            let refusal = DesiredStateRefusal(.malformed, "version \(verified.state.version) could not be stored (\(error)); it is not applied — check the state directory")
            refuse(refusal, bytes: bytes, now: now)
            throw refusal
        }
        applied[role] = (verified, stored)
        let summary = Self.summary(verified.state)
        lastOutcome = DownlinkStatus.Outcome(outcome: "applied", version: verified.state.version, role: role.rawValue, reason: nil,
                                             message: summary, at: now.date)
        sink.record(Self.appliedEvent(verified, via: via, time: now))
        logger.notice("desired state applied", metadata: ["role": "\(role.rawValue)", "version": "\(verified.state.version)", "via": "\(via)"])
        await handOn(restoring: false)
        return status()
    }

    /// The `downlink.applied` event of a verified document (also recorded by lamp-fleet's boards).
    public static func appliedEvent(_ verified: VerifiedDesiredState, via: String, time: Timestamp) -> Event {
        let role = verified.role
        return Event(kind: "downlink.applied", severity: .info, channel: channel(role), value: DesiredStateVersionValue.value(verified.state.version),
                     time: time, message: "applied \(role.rawValue) version \(verified.state.version) (key \(verified.kidHex)) via \(via): \(summary(verified.state))")
    }

    /// The `downlink.refused` event of a refusal; `claimed` is what the document says if its
    /// signature checks out (version and role), nil for a forged or unreadable one.
    public static func refusedEvent(_ refusal: DesiredStateRefusal, claimed: VerifiedDesiredState?, time: Timestamp) -> Event {
        Event(kind: "downlink.refused", severity: .warning, channel: claimed.flatMap { channel($0.role) },
              value: claimed.map { DesiredStateVersionValue.value($0.state.version) }, time: time,
              message: "\(refusal.reason.rawValue): \(refusal.message)")
    }

    private func refuse(_ refusal: DesiredStateRefusal, bytes: [UInt8], now: Timestamp) {
        // What the document claims, for the event only (it may be forged: the reason says so).
        let claimed = try? verifier.verifyAuthentic(bytes, deviceID: deviceID)
        let version = claimed?.state.version
        lastOutcome = DownlinkStatus.Outcome(outcome: "refused", version: version, role: claimed?.role.rawValue,
                                             reason: refusal.reason.rawValue, message: refusal.message, at: now.date)
        sink.record(Self.refusedEvent(refusal, claimed: claimed, time: now))
        logger.warning("desired state refused", metadata: ["reason": "\(refusal.reason.rawValue)", "message": "\(refusal.message)"])
    }

    /// Hands the applied documents to the lighting service and the scheduler's configuration to the settings.
    /// At start (`restoring`), a stored configuration naming a source lampd.toml no longer has keeps
    /// the rest in effect (the schedule must not be lost for a renamed device) and says so in an event.
    private func handOn(restoring: Bool) async {
        if let settings {
            var remote = applied[.scheduler]?.verified.state.configuration
            if restoring, let known = remote, let problem = settings.problem(with: known) {
                remote?.samplingPeriodSeconds = known.samplingPeriodSeconds?.filter { settings.pollableNames.contains($0.key) }
                logger.error("stored desired state", metadata: ["role": "scheduler", "problem": "\(problem)"])
                sink.record(Event(kind: "downlink.setting-unused", severity: .warning, channel: Self.channel(.scheduler), time: timeSource.now(),
                                  message: "the stored scheduler document's configuration is applied without the sources lampd.toml no longer has: \(problem)"))
            }
            settings.set(remote)
        }
        await lighting?.setCityDirections(CityDirections(scheduler: applied[.scheduler]?.verified, operator: applied[.operator]?.verified))
    }

    /// The applied version of each role (the query of a pull).
    public func appliedVersions() -> [String: UInt64] {
        Dictionary(uniqueKeysWithValues: applied.map { ($0.key.rawValue, $0.value.verified.state.version) })
    }

    /// The applied documents and the last outcome.
    public func status() -> DownlinkStatus {
        DownlinkStatus(
            applied: DesiredStateRole.allCases.compactMap { role in
                guard let (verified, stored) = applied[role] else { return nil }
                return DownlinkStatus.Applied(
                    role: role.rawValue, version: verified.state.version, kid: verified.kidHex,
                    issuedAt: Date(timeIntervalSince1970: Double(verified.state.issuedAtSeconds)),
                    expiresAt: Date(timeIntervalSince1970: Double(verified.state.expiresAtSeconds)),
                    fetchedAt: stored.fetchedAt, appliedAt: stored.appliedAt, via: stored.via, summary: Self.summary(verified.state))
            },
            lastOutcome: lastOutcome, keysDirectory: configuration.keysDirectory, keysPinned: verifier.keyring.keys.count,
            keyProblems: keyProblems)
    }

    /// `configuration: batch interval 300 s, byte cap 50000 B/day, polling meter 10 s`.
    static func describe(_ configuration: RemoteConfiguration) -> String {
        var settings: [String] = []
        if let seconds = configuration.batchIntervalSeconds { settings.append("batch interval \(seconds) s") }
        if let bytes = configuration.maxBytesPerDay { settings.append("byte cap \(bytes) B/day") }
        for (name, seconds) in (configuration.samplingPeriodSeconds ?? [:]).sorted(by: { $0.key < $1.key }) {
            settings.append("polling \(name) \(seconds) s")
        }
        return "configuration: " + settings.joined(separator: ", ")
    }

    /// What a document sets, in a line: `calendar city (2 programs), default light state 100 %`.
    static func summary(_ state: DesiredState) -> String {
        var parts: [String] = []
        if let schedule = state.schedule { parts.append("calendar \(schedule.calendar.id) (\(schedule.programs.count) programs)") }
        if let level = state.defaultLightStatePercent { parts.append("default light state \(level) %") }
        if let configuration = state.configuration, !configuration.isEmpty { parts.append(describe(configuration)) }
        if let o = state.override {
            let start = Date(timeIntervalSince1970: Double(o.startSeconds)).formatted(Date.ISO8601FormatStyle())
            let end = Date(timeIntervalSince1970: Double(o.expirySeconds)).formatted(Date.ISO8601FormatStyle())
            parts.append("override \(o.levelPercent) % from \(start) until \(end)" + (o.reason.map { " (\($0))" } ?? ""))
        }
        return parts.isEmpty ? "nothing set (clears this role's content)" : parts.joined(separator: ", ")
    }
}
