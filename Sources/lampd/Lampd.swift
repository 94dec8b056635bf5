import ControlProtocol
import Agent
import ArgumentParser
import LampdConfig
import FoundationEssentials
import Glibc
import Hardware
import Logging
import ServiceLifecycle
import Telemetry
import UnixSignals
import UplinkHTTP
import Clocks
import SystemSupport

/// `lampd`: the street-lamp controller agent.
@main
struct Lampd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lampd",
        abstract: "Run the lampd street-lamp controller agent.",
        discussion: """
            Reads its configuration (docs/configuration.md), samples the configured \
            Modbus devices and GPIO inputs into the spool, and runs until SIGTERM or \
            SIGINT, when it commits what is buffered and exits.

            Exit codes: 0 stopped on request, 2 configuration error, 1 other failure.
            """,
        version: LampdAgent.version
    )

    @Option(help: "Configuration file.")
    var config: String?

    @Flag(help: "Run on the built-in simulated board (any Linux machine). Without --config, uses the built-in simulated configuration.")
    var simulate = false

    @Flag(help: "With --simulate: play a scripted scenario (door, mains, meter and lamp faults) every three minutes.")
    var demo = false

    @Option(name: .customLong("simulate-fault"),
            help: ArgumentHelp("With --simulate: start with this fault on the simulated board (\(SimulatedFault.names)); repeatable.", valueName: "fault"))
    var simulateFaults: [String] = []

    @Flag(name: .customLong("simulate-synchronised-clock"),
          help: "With --simulate: treat the machine's clock as NTP-synchronised whatever the kernel says (to try what needs a synchronised clock, e.g. a city override, on a machine without NTP).")
    var simulateSynchronisedClock = false

    @Option(name: .customLong("simulate-cabinet"),
            help: ArgumentHelp("With --simulate and no --config: read the simulated cabinet's contacts through its GPIO lines (gpio, the default) or its Modbus DI module (modbus).", valueName: "gpio|modbus"))
    var simulateCabinet: String?

    @Option(help: "Control socket lampctl connects to (default /run/lampd/control.sock; on the simulated board control.sock in the state directory, so it never meets a real lampd).")
    var socket: String?

    @Option(help: "Lowest log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if demo && !simulate { throw ValidationError("--demo needs --simulate") }
        if !simulateFaults.isEmpty && !simulate { throw ValidationError("--simulate-fault needs --simulate") }
        if simulateSynchronisedClock && !simulate { throw ValidationError("--simulate-synchronised-clock needs --simulate") }
        if let cabinet = simulateCabinet {
            guard simulate, config == nil else { throw ValidationError("--simulate-cabinet needs --simulate and no --config (in a file, use [gpio.traffic_box] or [modbus.traffic_box])") }
            guard LampdConfiguration.SimulatedCabinet(rawValue: cabinet) != nil else {
                throw ValidationError("--simulate-cabinet \(cabinet) is not known; use gpio or modbus")
            }
        }
        for fault in simulateFaults where SimulatedFault(rawValue: fault) == nil {
            throw ValidationError("--simulate-fault \(fault) is not known; use one of \(SimulatedFault.names)")
        }
    }

    func run() async throws {
        // One malloc arena, however lampd is started (the systemd unit also sets MALLOC_ARENA_MAX=1),
        // and thresholds that give large freed buffers back instead of keeping them.
        MallocArenas.limitToOne()
        MallocThresholds.fix()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lampd")

        let path = config ?? (simulate ? nil : "/etc/lampd/lampd.toml")
        var configuration: LampdConfiguration
        var configurationProblems: [ConfigurationError] = []
        do {
            if let path {
                configuration = try LampdConfiguration.load(path: path)
                do {
                    try LastGoodConfiguration.save(configuration, stateDirectory: configuration.storage.directory)
                } catch {
                    logger.warning("cannot keep a copy of the configuration as the last good one", metadata: ["error": "\(error)"])
                }
            } else {
                let cabinet = simulateCabinet.flatMap(LampdConfiguration.SimulatedCabinet.init(rawValue:)) ?? .gpio
                configuration = try LampdConfiguration.parse(LampdConfiguration.builtInSimulated(cabinet: cabinet), file: "(built-in simulated configuration)")
            }
        } catch {
            for problem in error.errors { StandardStream.error.write("lampd: \(problem.description)\n") }
            // Light first: a broken edit must not leave the street dark.
            let bytes = path.flatMap { FileManager.default.contents(atPath: $0) }.map { [UInt8]($0) }
            let stateDirectory = LastGoodConfiguration.stateDirectory(fromBroken: bytes)
            do {
                configuration = try LastGoodConfiguration.fallback(stateDirectory: stateDirectory)
            } catch let lastGoodError {
                for problem in lastGoodError.errors { StandardStream.error.write("lampd: last good configuration: \(problem.description)\n") }
                StandardStream.error.write("lampd: not started; check the file with `lampctl config check` (no last good configuration in \(stateDirectory) to fall back on)\n")
                throw ExitCode(2)
            }
            logger.critical("configuration invalid: running on the last good configuration", metadata: [
                "file": "\(path ?? "")", "problems": "\(error.errors.count)",
                "last-good": "\(stateDirectory)/\(LastGoodConfiguration.fileName)",
            ])
            configurationProblems = error.errors
        }
        if simulate { configuration.board.kind = .simulated }

        let board = configuration.board.kind == .simulated ? await SimulatedBoard() : nil
        if let board {
            for fault in simulateFaults.compactMap(SimulatedFault.init(rawValue:)) {
                do { try await fault.apply(to: board) } catch {
                    logger.error("cannot inject the simulated fault", metadata: ["fault": "\(fault.rawValue)", "error": "\(error)"])
                }
            }
        }
        let agent: LampdAgent
        do {
            agent = try await LampdAgent.build(
                configuration: configuration, board: board,
                timeSource: simulateSynchronisedClock ? SynchronisedTimeSource() as any TimeSource : SystemTimeSource(),
                control: ControlServerConfiguration(socketPath: socketPath(for: configuration), policy: configuration.control.policy),
                makeTransport: { [longPoll = configuration.downlink.longPoll] in
                    try HTTPBatchTransport(configuration: $0, longestPullHold: longPoll)
                },
                configurationFile: path, logger: logger)
        } catch {
            let message = String(describing: error)
            logger.critical("cannot start", metadata: ["error": "\(message)"])
            throw ExitCode(1)
        }
        if !configurationProblems.isEmpty {
            let first = configurationProblems.first?.description ?? ""
            agent.sink.record(Event(
                kind: "config.invalid", severity: .alarm, time: SystemTimeSource().now(),
                message: "configuration has \(configurationProblems.count) problem(s), running on the last good one; first: \(first)"))
        }
        var services = agent.services
        if demo, let board {
            services.append(SimulatedScenario(board: board, logger: logger))
        }

        let notifier = SystemdNotifier()
        let metadata: Logger.Metadata = [
            "version": "\(LampdAgent.version)", "board": "\(configuration.board.kind.rawValue)",
            "device": "\(configuration.board.id)", "state": "\(configuration.storage.directory)",
            "modbus-devices": "\(configuration.modbusDevices.count)", "gpio-inputs": "\(configuration.gpioInputs.count)",
            "socket": "\(socketPath(for: configuration))",
        ]
        let boardKind = configuration.board.kind.rawValue
        services.append(ReadinessService(gate: agent.startup) {
            logger.notice("lampd running", metadata: metadata)
            notifier.ready(status: "running on the \(boardKind) board")
            // Start-up is over: give back the program pages it touched (docs/performance.md, "Memory").
            let released = ProgramPages.releaseStartupPages()
            logger.debug("program pages released after start-up", metadata: ["bytes": "\(released.map(String.init) ?? "unsupported")"])
        })
        let group = ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        notifier.stopping()
        logger.notice("lampd stopped")
    }

    /// The control socket: `--socket`, else `[control] socket`, else the board's default.
    func socketPath(for configuration: LampdConfiguration) -> String {
        if let socket = socket ?? configuration.control.socket { return socket }
        guard configuration.board.kind == .simulated else { return ControlProtocol.defaultSocketPath }
        return FilePaths.join(configuration.storage.directory, "control.sock")
    }
}

/// The system clock reported as synchronised (`--simulate --simulate-synchronised-clock` only).
struct SynchronisedTimeSource: TimeSource {
    let system = SystemTimeSource()

    func now() -> Timestamp {
        var now = system.now()
        now.isClockSynchronised = true
        return now
    }
}
