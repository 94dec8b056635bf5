import ControlProtocol
import LampdConfig
import FoundationEssentials
import Glibc
import Hardware
import Lighting
import Logging
import ServiceLifecycle
import Telemetry
import Uplink
import Clocks
import SystemSupport

/// Builds the agent's services from a checked configuration: the spool,
/// sampling of every configured input, the watchdog and the control socket.
///
/// This is the only place that knows which board the agent runs on: on the
/// simulated board every Modbus bus is the board's simulated bus and every
/// GPIO chip its simulated chip.
public struct LampdAgent: Sendable {
    /// Services in start order; the service group stops them in reverse, so
    /// the spool (first) stops last and commits what the others recorded.
    public let services: [any Service]
    public let spool: Spool
    public let heartbeats: LoopHeartbeats
    /// Where the daemon records readings and events: the in-memory view that
    /// `lampctl status` reads, forwarding to the spool.
    public let sink: any TelemetrySink
    /// Drives the lamp (nil without `[lighting]`); the control socket calls its
    /// `applyOverride`/`clearOverride` and reads `status`.
    public var lighting: LightingService? = nil
    /// Sends the spool upstream (nil without `[uplink]`).
    public var uplink: UplinkService? = nil
    /// Opens when lampd is ready (`READY=1`): the lamp commanded and the spool open (both done when
    /// `build` returns) and the control socket listening. Give it to `ReadinessService`.
    public var startup = StartupGate(conditions: [])

    /// Version reported in logs, events and `lampctl status`.
    public static let version = "0.1.0"

    public static func build(
        configuration: LampdConfiguration,
        board: SimulatedBoard?,
        timeSource: any TimeSource = SystemTimeSource(),
        control: ControlServerConfiguration = ControlServerConfiguration(),
        makeTransport: @Sendable (UplinkConfiguration) throws -> any BatchTransport,
        configurationFile: String? = nil,
        logger: Logger
    ) async throws -> LampdAgent {
        let directory = configuration.storage.directory
        // Light first: nothing before the lamp's first decision may fail or wait on storage, the
        // network or a meter. Records made before the spool opens wait in the spool sink.
        let storageHealth = StorageHealth()
        let spoolSink = SpoolSink(logger: logger)
        // Everything sampled passes through here on its way to the spool, so the control socket can show it;
        // alarm events also wake the uplink, so they go upstream at once.
        let recent = RecentTelemetry(forwardingTo: spoolSink)
        let uplinkTrigger = UplinkTrigger()
        let sink: any TelemetrySink = configuration.uplink == nil ? recent : UrgentEventTap(next: recent, trigger: uplinkTrigger)
        // One steady clock for the loops: the board's (CLOCK_MONOTONIC unless a test gave it
        // another), which is also the clock GPIO edges are stamped with. The heartbeats carry it,
        // so the watchdogs judge a stall on the clock the loops beat on.
        let clock: any MonotonicClock = board?.clock ?? SystemMonotonicClock()
        let heartbeats = LoopHeartbeats(clock: clock)
        let answers = ModbusDeviceAnswers()
        sink.record(Event(
            kind: "agent.started", severity: .info, time: timeSource.now(),
            message: "lampd \(version) started on the \(configuration.board.kind.rawValue) board as \(configuration.board.id)"))
        if let problem = Self.prepareStateDirectory(directory) {
            let event = Event(
                kind: "storage.unavailable", severity: .alarm, time: timeSource.now(),
                message: "the state directory \(directory) \(problem) — check [storage] directory, its permissions "
                    + "(lampd runs as the lampd user) and the disk; the lamp keeps its schedule")
            logger.critical("state directory unavailable", metadata: ["directory": "\(directory)", "error": "\(event.message)"])
            storageHealth.note(event)
            sink.record(event)
        }
        // Buses by name.
        var buses: [String: any ModbusClient] = [:]
        for section in configuration.modbusBuses {
            if let board {
                buses[section.name] = board.modbus
            } else {
                let name = section.name
                buses[name] = ModbusBus(section.bus) { warning in
                    logger.warning("Modbus bus", metadata: ["bus": "\(name)", "warning": "\(warning.description)"])
                    sink.record(Event(kind: "modbus.bus-warning", severity: .warning, time: timeSource.now(), message: "bus \(name): \(warning.description)"))
                }
            }
        }

        // The lamp: output opened at its last commanded state (on when unknown: light first);
        // sampling records through a tee that hands the meter's channels to the lighting service.
        var lighting: LightingService?
        var samplingSink: any TelemetrySink = sink
        if let section = configuration.lighting {
            let last = LightingService.lastCommanded(directory: directory)
            let (output, outputProblem) = try await LampOutputs.openFallingBackToRelay(
                section.output, board: board, buses: buses, initiallyOn: (last?.levelPercent ?? 100) > 0)
            if let outputProblem {
                logger.critical("lamp dimming unavailable", metadata: ["problem": "\(outputProblem)"])
                sink.record(Event(kind: "lamp.dimming-unavailable", severity: .alarm, time: timeSource.now(), message: outputProblem))
            }
            let service = LightingService(configuration: section, output: output, stateDirectory: directory, sink: sink,
                                          timeSource: timeSource, clock: clock, heartbeats: heartbeats,
                                          logger: logger.with(metadata: ["service": "lighting"]))
            lighting = service
            samplingSink = LightingTeeSink(next: sink, feed: service.feed)
        }
        // The city's signed desired state, verified again from the state directory, before the
        // first decision (a bad or missing document leaves the local schedule in charge).
        // The settings the city's scheduler document may change (docs/downlink.md "Configuration").
        let trigger = uplinkTrigger
        let remote = RemoteSettings(
            pollableNames: Set(configuration.modbusDevices.map(\.name) + (configuration.modbusTrafficBox == nil ? [] : [ModbusCabinetPoller.answerName])),
            onChange: { trigger.wakeup.signal() })
        let downlink = DesiredStateApplier(deviceID: configuration.board.id, configuration: configuration.downlink,
                                           stateDirectory: directory, lighting: lighting, settings: remote, sink: sink, timeSource: timeSource,
                                           logger: logger.with(metadata: ["service": "downlink"]))
        await downlink.restore()
        await lighting?.commandFirstDecision()

        // The spool, after the lamp: its start-up check can take seconds on a slow card, and if it
        // cannot be opened lampd runs on an emergency spool and raises an alarm.
        let opened = try await SpoolOpening.open(
            SpoolConfiguration(
                path: FilePaths.join(directory, "spool.sqlite"),
                maxSizeMegabytes: Double(configuration.storage.spoolMaxMegabytes),
                commitWindow: configuration.storage.commitWindow),
            timeSource: timeSource, logger: logger)
        let spool = opened.spool
        watchOwnEvents(of: spool, health: storageHealth, recent: recent)
        for event in spool.startupEvents {
            logger.critical("spool", metadata: ["event": "\(event.kind)", "message": "\(event.message)"])
        }
        spoolSink.attach(spool)
        if let problem = opened.problem {
            storageHealth.note(problem)
            sink.record(problem)
        }

        var pollers: [ModbusDevicePoller] = []
        for device in configuration.modbusDevices {
            guard let client = buses[device.bus] else { continue }  // the configuration check rejects this
            pollers.append(try ModbusDevicePoller(
                device: device, client: client, sink: samplingSink, timeSource: timeSource, clock: clock, heartbeats: heartbeats,
                answers: answers, remote: remote, logger: logger.with(metadata: ["device": "\(device.name)"])))
        }

        var watchers: [@Sendable () async -> Void] = []
        if let cabinet = configuration.modbusTrafficBox, let client = buses[cabinet.bus] {
            let poller = try ModbusCabinetPoller(
                configuration: cabinet, client: client, sink: samplingSink, timeSource: timeSource, clock: clock,
                heartbeats: heartbeats, answers: answers, remote: remote, logger: logger.with(metadata: ["device": "traffic_box"]))
            watchers.append { await poller.run() }
        }
        for input in configuration.gpioInputs {
            let watcher = try GPIOInputWatcher(
                input: input, sink: samplingSink, timeSource: timeSource, clock: clock, heartbeats: heartbeats, logger: logger)
            if let board {
                let chip = board.gpio
                watchers.append { await watcher.run(on: chip) }
            } else {
                let chipName = input.chip
                watchers.append { await watcher.run(opening: { try await GPIOChip.open(chipName) }) }
            }
        }

        var context = AgentControlContext(
            version: version, deviceID: configuration.board.id, boardKind: configuration.board.kind.rawValue,
            spool: spool, telemetry: recent, refusedRecords: { spoolSink.refusedRecords }, timeSource: timeSource)
        context.site = configuration.site
        context.configurationFile = configurationFile
        context.stateDirectory = directory
        context.storageProblems = { storageHealth.summary() }
        let lamp = lighting
        context.lamp = { await lamp?.explain() }
        let made = makeUplink(configuration: configuration, makeTransport: makeTransport, spool: spool, trigger: uplinkTrigger, sink: sink,
                              timeSource: timeSource, heartbeats: heartbeats, remote: remote, logger: logger)
        let uplink = made?.service
        context.uplink = { uplink?.status() }
        context.downlink = { await downlink.status() }
        var commands = ControlCommandRegistry.agentCommands(context)
        commands.registerLampCommands(lighting)
        commands.registerUplinkCommands(uplink)
        commands.registerDownlinkCommands(downlink)
        var selfTest = DaemonSelfTest(configuration: configuration, telemetry: recent, answers: answers,
                                      heartbeats: heartbeats, timeSource: timeSource)
        selfTest.lampOutput = { await lamp?.explain().map { ($0.outputDescription, $0.outputError) } }

        var services: [any Service] = [SpoolService(spool: spool, logger: logger)]
        if let lighting { services.append(lighting) }
        services += [
            SamplingService(pollers: pollers, watchers: watchers),
        ]
        if let uplink { services.append(uplink) }
        // The pull of the desired state rides on the uplink's receiver, TLS and byte budget.
        if let source = made?.transport as? any DesiredStateSource, let deviceID = DeviceID(rawValue: configuration.board.id) {
            services.append(DesiredStatePuller(deviceID: deviceID, source: source, applier: downlink, trigger: uplinkTrigger,
                                               pollInterval: configuration.downlink.pollInterval, longPoll: configuration.downlink.longPoll,
                                               clock: heartbeats.clock, timeSource: timeSource,
                                               logger: logger.with(metadata: ["service": "downlink"])))
        }
        services += [
            WatchdogService(heartbeats: heartbeats, logger: logger),
        ]
        if let watchdog = configuration.watchdog {
            let service = HardwareWatchdogService(configuration: watchdog, heartbeats: heartbeats, sink: sink,
                                                  timeSource: timeSource, logger: logger.with(metadata: ["service": "watchdog"]))
            selfTest.hardwareWatchdog = { service.status.check(device: watchdog.device, atSeconds: heartbeats.nowSeconds) }
            services.append(service)
        }
        commands.registerSelfTest(selfTest)
        let startup = StartupGate(conditions: ["control socket"])
        var controlConfiguration = control
        controlConfiguration.onStarted = { startup.arrive("control socket") }
        services += [
            // Last, so it stops first and no command runs against a stopping spool.
            ControlServer(
                configuration: controlConfiguration,
                commands: commands,
                audit: ControlAuditTrail(sink: sink, timeSource: timeSource, logger: logger),
                logger: logger.with(metadata: ["service": "control"])),
        ]
        return LampdAgent(services: services, spool: spool, heartbeats: heartbeats, sink: sink, lighting: lighting, uplink: uplink,
                          startup: startup)
    }
}

extension LampdAgent {
    /// Makes the spool's own events (stored inside it) visible outside it: in `lampctl events`
    /// (`recent`) and in the health verdict of `lampctl status` (`health`).
    static func watchOwnEvents(of spool: Spool, health: StorageHealth, recent: RecentTelemetry) {
        spool.observeOwnEvents { event in
            health.note(event)
            recent.remember(event)
        }
    }

    /// Creates the state directory if it is missing; returns what is wrong with it, in words, or nil.
    static func prepareStateDirectory(_ directory: String) -> String? {
        var status = stat()
        if stat(directory, &status) == 0 {
            return (status.st_mode & S_IFMT) == S_IFDIR ? nil : "is not a folder"
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return nil
        } catch {
            return "cannot be created: \(SystemErrorText.describe(error))"
        }
    }

    /// The uplink service for `[uplink]`, or nil without one. A TLS file that cannot be loaded does
    /// not stop lampd (the lamp must keep working): it raises an alarm and everything stays in the spool.
    static func makeUplink(configuration: LampdConfiguration, makeTransport: @Sendable (UplinkConfiguration) throws -> any BatchTransport,
                           spool: Spool, trigger: UplinkTrigger, sink: any TelemetrySink,
                           timeSource: any TimeSource, heartbeats: LoopHeartbeats, remote: RemoteSettings?, logger: Logger)
        -> (service: UplinkService, transport: any BatchTransport)?
    {
        guard let section = configuration.uplink, let deviceID = DeviceID(rawValue: configuration.board.id) else { return nil }
        let transport: any BatchTransport
        do {
            transport = try makeTransport(section)
        } catch {
            logger.critical("uplink disabled", metadata: ["error": "\(error)"])
            sink.record(Event(kind: "uplink.misconfigured", severity: .alarm, time: timeSource.now(),
                              message: "uplink disabled, records stay in the spool: \(error)"))
            return nil
        }
        let service = UplinkService(
            configuration: section, stateDirectory: configuration.storage.directory, deviceID: deviceID, spool: spool,
            transport: transport, trigger: trigger, sink: sink, timeSource: timeSource, heartbeats: heartbeats, remote: remote,
            logger: logger.with(metadata: ["service": "uplink"]))
        return (service, transport)
    }
}

extension Logger {
    /// A copy of this logger with more metadata.
    func with(metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}
