import ControlProtocol
import SystemSupport
import LampdConfig
import FoundationEssentials
import Hardware
import Lighting
import Logging
import ServiceLifecycle
import Telemetry
import Clocks
import TextFormatting

/// Why the lighting service refused a request from the control socket or upstream.
public struct LightingError: ActionableError, Hashable {
    /// Stable identifier, e.g. `clock-unsynchronised`, `level-out-of-range`.
    public let code: String
    public let description: String

    public init(code: String, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// Drives the lamp: decides the level with `LightArbiter` every `stepInterval` (and at each
/// switch point), ramps the `LampOutput`, records every change of target level as a
/// `lamp.level` event with its reason, judges the meter feedback with `FaultDetector`, and
/// keeps the state and counter files in the state directory.
///
/// On start it first puts the output back to the level last commanded (`lamp-state.json`).
/// On shutdown it leaves the lamp as commanded (it never switches it off) and saves the
/// counters. Time comes from the injected `TimeSource`: the wall clock (trusted only when
/// `isClockSynchronised`) for the schedule, `bootNanoseconds` for warm-up and burn hours.
/// Tests drive `step(at:)` with explicit times instead of running the loop.
public actor LightingService: Service {
    public nonisolated let configuration: LightingConfiguration
    /// The current decision, for `lampctl lamp explain`; readable from any thread.
    public nonisolated let status: LightingStatus
    /// Where the sampling path hands meter and photocell readings (see `LightingTeeSink`).
    public nonisolated let feed: LightingMeterFeed
    /// Name of the loop in `LoopHeartbeats`.
    public static let loopName = "lighting"
    /// Meter readings older than this are not judged (the profiles re-send every 15 min).
    public static let measurementMaximumAgeSeconds = 1800.0

    let output: any LampOutput
    let directory: String
    let sink: any TelemetrySink
    let timeSource: any TimeSource
    /// What the step loop waits and beats on (the decisions themselves use `timeSource`).
    let clock: any MonotonicClock
    let heartbeats: LoopHeartbeats?
    let configurationProblem: String?
    let logger: Logger

    private var restored: LampState?
    private var overrides: OverrideState
    /// The city's override and schedule from its signed desired state (`DesiredStateApplier`).
    private var city = CityDirections()
    private var counters: LampCounters
    private var detector: FaultDetector?

    private var startBootSeconds: Double?
    private var lastStepBootSeconds: Double?
    /// Level last written to the output, percent; nil before the first write.
    private var commandedPercent: Double?
    private var levelSetAtBootSeconds = -Double.infinity
    private var recordedTarget: Double?
    private var recordedSource: DecisionSource?
    private var readBack: LampOutputState?
    private var outputError: String?

    private var power: LightingMeterFeed.Sample?
    private var voltage: LightingMeterFeed.Sample?
    private var powerFactor: LightingMeterFeed.Sample?
    private var photocell: PhotocellReading?

    private var countersDirty = false
    /// The last write of a state file failed (reported once until a write succeeds).
    private var stateFileFailing = false
    private var countersSavedAtBootSeconds: Double?
    private var upcoming: [ScheduledSwitch] = []
    /// The clock's sync state at the previous step (nil before the first).
    private var lastClockSynchronised: Bool?
    /// `commandFirstDecision()` ran.
    private var firstDecisionTaken = false
    /// How long the first decision said to wait before the next step.
    private var firstDecisionWait: Duration = .zero
    /// The lamp test running or last run (`LampTest.swift`).
    var lampTest: LampTest?
    /// Drives the running lamp test's steps; cancelled when the test ends early.
    var lampTestTask: Task<Void, Never>?

    /// - Parameters:
    ///   - configuration: the `[lighting]` section; a nil `schedule` runs the fail-safe.
    ///   - configurationProblem: why there is no schedule, shown in the reason.
    ///   - output: the lamp output, already opened (see `LampOutputs.open`).
    ///   - stateDirectory: where `lamp-state.json` and `lamp-counters.json` live.
    public init(configuration: LightingConfiguration, configurationProblem: String? = nil, output: any LampOutput,
                stateDirectory: String, sink: any TelemetrySink, timeSource: any TimeSource,
                clock: any MonotonicClock = SystemMonotonicClock(), heartbeats: LoopHeartbeats? = nil, status: LightingStatus = LightingStatus(),
                feed: LightingMeterFeed? = nil, logger: Logger) {
        self.configuration = configuration
        self.configurationProblem = configurationProblem
        self.output = output
        self.directory = stateDirectory
        self.sink = sink
        self.timeSource = timeSource
        self.clock = clock
        self.heartbeats = heartbeats
        self.status = status
        self.feed = feed ?? LightingMeterFeed(channels: configuration.meter, photocellChannel: configuration.photocellChannel)
        self.logger = logger

        var problems: [String] = []
        do { restored = try LampStateStore.load(LampState.self, directory: stateDirectory, name: LampState.fileName) } catch {
            problems.append("\(LampState.fileName) is unreadable (\(error)); starting without the last commanded level")
        }
        overrides = restored?.overrides ?? OverrideState()
        var loadedCounters: LampCounters?
        do { loadedCounters = try LampStateStore.load(LampCounters.self, directory: stateDirectory, name: LampCounters.fileName) } catch {
            problems.append("\(LampCounters.fileName) is unreadable (\(error)); counters start from 0")
        }
        counters = loadedCounters ?? LampCounters()
        if let lampType = configuration.lampType {
            var detector = counters.faults ?? FaultDetector(lampType: lampType)
            detector.lampType = lampType
            self.detector = detector
        }
        let now = timeSource.now()
        for problem in problems {
            logger.error("lighting state", metadata: ["problem": "\(problem)"])
            sink.record(Event(kind: "lamp.state-unreadable", severity: .warning, time: now, message: problem))
        }
    }

    /// The level in `lamp-state.json` in `directory`, if there is a readable one: `LampdAgent`
    /// requests the relay line already at this state.
    public static func lastCommanded(directory: String) -> LastCommandedState? {
        (try? LampStateStore.load(LampState.self, directory: directory, name: LampState.fileName))?.lastCommanded
    }

    // MARK: - Service

    public func run() async throws {
        await commandFirstDecision()
        let stepSeconds = configuration.stepInterval.seconds
        heartbeats?.register(Self.loopName, maximumSilenceSeconds: max(60, 3 * stepSeconds + 30), atSeconds: clock.now.seconds)
        await cancelWhenGracefulShutdown {
            // The first decision was just taken (usually by `LampdAgent`, before the other services
            // started): the loop waits out its interval instead of deciding again at once.
            var wait = await self.firstDecisionWait
            while !Task.isCancelled {
                self.heartbeats?.beat(Self.loopName, atSeconds: self.clock.now.seconds)
                do { try await self.clock.sleep(for: wait) } catch { break }
                wait = await self.stepNow()
            }
        }
        heartbeats?.unregister(Self.loopName)
        await shutdown()
    }

    /// Restores the last commanded level and takes the first decision, once (later calls return at
    /// once). `LampdAgent` calls it before anything else starts (light first: the spool, the
    /// meters and the uplink cannot delay it); `run()` calls it too.
    public func commandFirstDecision() async {
        guard !firstDecisionTaken else { return }
        firstDecisionTaken = true
        await restore()
        firstDecisionWait = await stepNow()
    }

    /// Saves the state and the counters; the lamp stays as commanded (a restart or an update
    /// must not blink the street). `run()` calls it when the service group stops.
    public func shutdown() async {
        endLampTest(.cancelled, because: "lampd stopped")
        await saveState()
        await saveCounters()
        logger.notice("lighting stopped; lamp left as commanded", metadata: ["level": "\(commandedPercent ?? -1)"])
    }

    /// One step at the time source's now; returns how long to wait for the next one.
    private func stepNow() async -> Duration {
        let now = timeSource.now()
        await step(at: now)
        var wait = configuration.stepInterval
        if now.isClockSynchronised, let next = upcoming.first {
            let untilNext = next.instant.timeIntervalSince(now.date)
            if untilNext > 0, untilNext < wait.seconds { wait = .milliseconds(Int64(untilNext * 1000) + 1) }
        }
        return wait
    }

    // MARK: - Restore, step

    /// Puts the output back to the level last commanded before the restart (first thing on start).
    /// Without a state file it leaves the output as `LampdAgent` opened it (on: light first).
    public func restore() async {
        guard let restored else { return }
        let level = restored.lastCommanded.levelPercent
        do {
            try await output.setLevel(percent: level)
            commandedPercent = level
            readBack = try? await output.readBack()
            logger.notice("lamp restored", metadata: ["level": "\(level)", "reason": "\(restored.reason)"])
            sink.record(Event(kind: "lamp.restored", severity: .info, channel: Self.levelChannel, value: .number(level),
                              time: timeSource.now(),
                              message: String(printf: "lamp restored to %.0f %% as commanded before the restart (%@)", level, restored.reason)))
        } catch {
            noteOutputFailure(error, time: timeSource.now())
        }
    }

    static let levelChannel = ChannelName(rawValue: "lamp.level")

    /// Decides and drives the lamp for instant `now`; returns the decision as shown to the technician.
    @discardableResult
    public func step(at now: Timestamp) async -> LightingSnapshot {
        let boot = Double(now.bootNanoseconds) / 1e9
        if startBootSeconds == nil { startBootSeconds = boot }
        absorb(feed.take(), now: now)
        if now.isClockSynchronised, lastClockSynchronised == false,
           let current = overrides.current, current.timedOnUnsynchronisedClock == true {
            // The clock was just synchronised: it may have jumped, so the
            // override timed on the old clock ends now (back to the program).
            overrides.clear()
            sink.record(Event(kind: "lamp.override-cleared", severity: .info, time: now,
                              message: "override \(current.levelPercent) % by \(current.source) cleared: the clock was synchronised, and the override was timed on the unsynchronised clock"))
            await saveState()
        }
        lastClockSynchronised = now.isClockSynchronised

        let context = LightContext(
            schedule: configuration.schedule, configurationProblem: configurationProblem,
            location: configuration.location, timeZone: configuration.timeZone,
            clockSynchronised: now.isClockSynchronised, secondsSinceStart: boot - (startBootSeconds ?? boot),
            photocell: photocell, overrides: overrides, lastCommanded: restored?.lastCommanded, city: city)
        let decision = applyFailSafeLevel(LightArbiter.decide(now: now.date, context: context))

        // Burn hours for the interval since the last step, at the level that was commanded then.
        if let last = lastStepBootSeconds, let level = commandedPercent, boot > last {
            counters.burnHours.add(levelPercent: level, from: Date(timeIntervalSince1970: last), to: Date(timeIntervalSince1970: boot))
            if level > 0 { countersDirty = true }
        }
        lastStepBootSeconds = boot

        let level = (decision.levelPercent * 10).rounded() / 10
        if level != commandedPercent || outputError != nil {
            do {
                try await output.setLevel(percent: level)
                if (commandedPercent ?? 0) <= 0, level > 0 {
                    counters.switchOnCount += 1
                    countersDirty = true
                }
                if level != commandedPercent { levelSetAtBootSeconds = boot }
                commandedPercent = level
                readBack = try? await output.readBack()
                if outputError != nil {
                    outputError = nil
                    sink.record(Event(kind: "lamp.output-recovered", severity: .info, time: now, message: "lamp output \(output.description) works again"))
                }
            } catch {
                noteOutputFailure(error, time: now)
            }
        }

        if decision.targetLevelPercent != recordedTarget {
            let from = recordedTarget ?? restored?.lastCommanded.levelPercent
            let change = from.map { String(printf: "%.0f %% → %.0f %%", $0, decision.targetLevelPercent) }
                ?? String(printf: "→ %.0f %%", decision.targetLevelPercent)
            let failSafe = ![.program, .override, .cityOverride, .citySchedule].contains(decision.source)
            sink.record(Event(kind: "lamp.level", severity: failSafe ? .warning : .info, channel: Self.levelChannel,
                              value: .number(decision.targetLevelPercent), time: now, message: "lamp \(change): \(decision.reason)"))
            logger.info("lamp level", metadata: ["target": "\(decision.targetLevelPercent)", "reason": "\(decision.reason)"])
            recordedTarget = decision.targetLevelPercent
            recordedSource = decision.source
            await saveState(decision: decision, time: now.date)
        } else if decision.source != recordedSource {
            // Same level, another rule (e.g. the clock became synchronised): worth a line, not a write.
            recordedSource = decision.source
            logger.info("lamp decision source", metadata: ["source": "\(decision.source.rawValue)", "reason": "\(decision.reason)"])
        }

        await judgeFaults(now: now, boot: boot)
        // Counters: at most every `counters_save` (flash wear), plus fault changes and shutdown.
        if let saved = countersSavedAtBootSeconds {
            if countersDirty, boot - saved >= configuration.counterSaveInterval.seconds { await saveCounters() }
        } else {
            countersSavedAtBootSeconds = boot
        }

        let snapshot = makeSnapshot(decision: decision, now: now)
        status.update(snapshot)
        return snapshot
    }

    private func applyFailSafeLevel(_ decision: LightDecision) -> LightDecision {
        let failSafe: Set<DecisionSource> = [.failSafeOn, .failSafePhotocell, .failSafeAstroClock]
        let level = configuration.failSafeLevelPercent
        guard failSafe.contains(decision.source), decision.targetLevelPercent == 100, level < 100 else { return decision }
        var changed = decision
        changed.levelPercent = level
        changed.targetLevelPercent = level
        changed.reason = decision.reason.replacing("→ 100 %", with: String(printf: "→ %.0f %% (fail_safe_level)", level))
        return changed
    }

    private func noteOutputFailure(_ error: any Error, time: Timestamp) {
        let text = "\(error)"
        if outputError == nil {
            logger.error("lamp output", metadata: ["output": "\(output.description)", "error": "\(text)"])
            sink.record(Event(kind: "lamp.output-error", severity: .alarm, time: time,
                              message: "cannot set the lamp output \(output.description): \(text)"))
        }
        outputError = text
    }

    // MARK: - Meter feedback

    private func absorb(_ pending: LightingMeterFeed.Pending, now: Timestamp) {
        if let p = pending.power { power = p }
        if let v = pending.voltage { voltage = v }
        if let pf = pending.powerFactor { powerFactor = pf }
        if let dark = pending.photocellDark { photocell = dark ? .dark : .light }
        for kWh in pending.energyKilowattHours {
            let (_, step) = counters.energy.add(readingWattHours: kWh * 1000)
            countersDirty = true
            if step == .reset {
                sink.record(Event(kind: "lamp.energy-meter-reset", severity: .warning, time: now,
                                  message: String(printf: "the energy meter went back to %.3f kWh (reset or replaced); counting on from there", kWh)))
            }
        }
    }

    private func judgeFaults(now: Timestamp, boot: Double) async {
        guard var detector, let power, let commanded = commandedPercent,
              boot - power.bootSeconds <= Self.measurementMaximumAgeSeconds else { return }
        let measurement = LampMeasurement(
            powerWatts: power.value,
            voltageVolts: voltage.flatMap { boot - $0.bootSeconds <= Self.measurementMaximumAgeSeconds ? $0.value : nil },
            powerFactor: powerFactor.flatMap { boot - $0.bootSeconds <= Self.measurementMaximumAgeSeconds ? $0.value : nil })
        let events = detector.update(measurement, commandedLevelPercent: commanded,
                                     levelSetAt: Date(timeIntervalSince1970: levelSetAtBootSeconds),
                                     now: Date(timeIntervalSince1970: boot))
        self.detector = detector
        guard !events.isEmpty else { return }
        for event in events {
            let kind = Self.eventKind(event.fault)
            let raised = event.transition == .raised
            let severity: EventSeverity = raised ? (event.fault == .lampFailure || event.fault == .dayBurner ? .alarm : .warning) : .info
            sink.record(Event(kind: raised ? kind : kind + ".cleared", severity: severity, time: now,
                              message: "\(Self.faultName(event.fault)) \(raised ? "raised" : "cleared"): \(event.detail)"))
            logger.warning("lamp fault", metadata: ["fault": "\(kind)", "transition": "\(event.transition.rawValue)", "detail": "\(event.detail)"])
        }
        counters.faults = detector
        await saveCounters()
    }

    /// Event kind of a fault: `lamp.failure`, `lamp.day-burner`, `lamp.dimming-failure`,
    /// `lamp.voltage-out-of-range`, `lamp.low-power-factor`, `lamp.cycling` (`.cleared` appended when it ends).
    public static func eventKind(_ fault: LampFault) -> String {
        switch fault {
        case .lampFailure: "lamp.failure"
        case .dayBurner: "lamp.day-burner"
        case .dimmingFailure: "lamp.dimming-failure"
        case .voltageOutOfRange: "lamp.voltage-out-of-range"
        case .lowPowerFactor: "lamp.low-power-factor"
        case .cycling: "lamp.cycling"
        }
    }

    static func faultName(_ fault: LampFault) -> String {
        switch fault {
        case .lampFailure: "lamp failure"
        case .dayBurner: "day burner"
        case .dimmingFailure: "dimming failure"
        case .voltageOutOfRange: "supply voltage out of range"
        case .lowPowerFactor: "low power factor"
        case .cycling: "cycling lamp"
        }
    }

    // MARK: - Overrides (called by the control socket, later by the uplink)

    /// Applies an override now (technician via `lampctl`, or upstream), persists it and
    /// re-decides at once. Technician overrides always get an expiry (`[lighting.override]`).
    ///
    /// - Throws: `LightingError` with code `clock-unsynchronised` for an upstream override
    ///   while the clock is not synchronised (a technician's is timed on the board's clock
    ///   and cleared when the clock is synchronised), or the policy's codes
    ///   (`level-out-of-range`, `negative-ramp`, `expiry-before-start`).
    ///
    /// A running lamp test ends (cancelled) when another override replaces its step;
    /// `partOfLampTest` is set only by the test's own steps.
    @discardableResult
    public func applyOverride(_ request: OverrideRequest, partOfLampTest: Bool = false) async throws(LightingError) -> LightOverride {
        let now = timeSource.now()
        let technician: Bool
        if case .technician = request.source { technician = true } else { technician = false }
        guard now.isClockSynchronised || technician else {
            throw LightingError(code: "clock-unsynchronised",
                                "the board's clock is not synchronised, so an upstream override (with a start and an expiry in real time) cannot be timed; the lamp is in fail-safe — check NTP (timedatectl)")
        }
        var accepted: LightOverride
        do { accepted = try overrides.apply(request, now: now.date, policy: configuration.overridePolicy) } catch {
            throw LightingError(code: error.code, error.description)
        }
        if !partOfLampTest { endLampTest(.cancelled, because: "replaced by an override by \(request.source)") }
        if !now.isClockSynchronised {
            // Timed on the board's own clock; cleared when NTP synchronises it (see step).
            accepted = overrides.markTimedOnUnsynchronisedClock() ?? accepted
        }
        var text = String(printf: "override %d %% by %@", accepted.levelPercent, accepted.source.description)
        if let expiry = accepted.expiry { text += " until \(expiry.formatted(Date.ISO8601FormatStyle()))" }
        if let reason = accepted.reason, !reason.isEmpty { text += " (\(reason))" }
        sink.record(Event(kind: "lamp.override", severity: .info, channel: Self.levelChannel,
                          value: .number(Double(accepted.levelPercent)), time: now, message: text))
        await saveState()
        await step(at: now)
        return accepted
    }

    /// Removes the override: the program decides again at once. Returns the override removed, if any.
    @discardableResult
    public func clearOverride(by who: String) async -> LightOverride? {
        let now = timeSource.now()
        let removed = overrides.current
        endLampTest(.cancelled, because: "override cleared by \(who)")
        overrides.clear()
        if let removed {
            sink.record(Event(kind: "lamp.override-cleared", severity: .info, time: now,
                              message: "override \(removed.levelPercent) % by \(removed.source) cleared by \(who)"))
        }
        await saveState()
        await step(at: now)
        return removed
    }

    /// Hands the city's directions (from verified, stored desired-state documents) to the arbiter
    /// and decides again at once. A lamp test is not interrupted: it ends on its own.
    public func setCityDirections(_ directions: CityDirections) async {
        guard directions != city else { return }
        city = directions
        upcoming = []
        if firstDecisionTaken { await step(at: timeSource.now()) }
    }

    /// The service's clock: overrides are timed on it (`lamp.set --for`).
    public nonisolated func now() -> Timestamp { timeSource.now() }

    /// The latest decision (same as `status.snapshot()`).
    public func explain() -> LightingSnapshot? { status.snapshot() }

    // MARK: - Files

    /// The newest state handed to the writer (saves land in the order they were asked for).
    private var lastSavedState: LampState?
    /// The last write of `lamp-state.json` failed: the next save writes even an unchanged state.
    private var stateWriteFailed = false

    /// Writes `lamp-state.json` when the state changed. The write runs off the actor's thread
    /// (`DurableFile.replaceOffPool`); the bookkeeping is done before it suspends, so a save asked
    /// for meanwhile builds on this one and lands after it.
    private func saveState(decision: LightDecision? = nil, time: Date? = nil) async {
        var state = lastSavedState ?? restored ?? LampState(
            lastCommanded: LastCommandedState(levelPercent: decision?.targetLevelPercent ?? 100, at: time ?? Date()),
            source: decision?.source ?? .failSafeOn, reason: decision?.reason ?? "", overrides: overrides)
        if let decision {
            state.lastCommanded = LastCommandedState(levelPercent: decision.targetLevelPercent, at: time ?? Date())
            state.source = decision.source
            state.reason = decision.reason
        }
        state.overrides = overrides
        guard state != lastSavedState || stateWriteFailed else { return }
        guard decision != nil || lastSavedState != nil || restored != nil else { return }  // nothing decided yet
        lastSavedState = state
        do {
            try await LampStateStore.save(state, directory: directory, name: LampState.fileName)
            stateWriteFailed = false
            stateFileFailing = false
        } catch {
            stateWriteFailed = true
            noteStateFileFailure(LampState.fileName, error)
        }
    }

    /// Logs a failed write of a state file, and records it as an event once per streak of failures
    /// (a full or read-only disk would otherwise go unnoticed until a restart forgets the lamp's level).
    private func noteStateFileFailure(_ name: String, _ error: any Error) {
        logger.error("cannot save \(name)", metadata: ["error": "\(error)"])
        guard !stateFileFailing else { return }
        stateFileFailing = true
        sink.record(Event(kind: "lamp.state-write-failed", severity: .warning, time: timeSource.now(),
                          message: "cannot save \(name) in \(directory) (\(error)): after a restart lampd would not know "
                            + "the last commanded level or the counters; check the disk (free space, read-only)"))
    }

    /// Writes `lamp-counters.json` off the actor's thread; counters that change while it is
    /// written stay dirty for the next save.
    private func saveCounters() async {
        counters.faults = detector
        let saving = counters
        let previouslySavedAt = countersSavedAtBootSeconds
        countersDirty = false
        countersSavedAtBootSeconds = lastStepBootSeconds
        do {
            try await LampStateStore.save(saving, directory: directory, name: LampCounters.fileName)
            stateFileFailing = false
        } catch {
            countersDirty = true
            countersSavedAtBootSeconds = previouslySavedAt  // try again at the next step
            noteStateFileFailure(LampCounters.fileName, error)
        }
    }

    // MARK: - Snapshot

    private func makeSnapshot(decision: LightDecision, now: Timestamp) -> LightingSnapshot {
        if let schedule = city.schedule ?? configuration.schedule, let location = configuration.location,
           upcoming.isEmpty || upcoming[0].instant <= now.date {
            upcoming = schedule.nextSwitchPoints(after: now.date, count: 4, location: location, timeZone: configuration.timeZone)
        }
        return LightingSnapshot(
            levelPercent: (decision.levelPercent * 10).rounded() / 10, targetLevelPercent: decision.targetLevelPercent,
            source: decision.source, reason: decision.reason,
            nextSwitches: upcoming.map {
                .init(at: $0.instant, switchPoint: $0.switchPoint.description, levelPercent: $0.switchPoint.levelPercent,
                      label: $0.switchPoint.at.description, programID: $0.programID, note: $0.note)
            },
            override: overrides.current, clockSynchronised: now.isClockSynchronised,
            outputDescription: output.description, output: readBack,
            activeFaults: LampFault.allCases.filter { detector?.active.contains($0) == true },
            burnHours: counters.burnHours.hours, switchOnCount: counters.switchOnCount,
            energyWattHours: counters.energy.totalWattHours, decidedAt: now.date, outputError: outputError,
            lampTest: lampTest)
    }
}
