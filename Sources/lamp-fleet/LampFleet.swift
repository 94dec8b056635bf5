import ArgumentParser
import Downlink
import Foundation
import Lighting
import Uplink
import UplinkHTTP

/// `lamp-fleet`: simulated boards sending real signed batches to a lamp-ingest (docs/fleet-simulator.md).
@main
struct LampFleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lamp-fleet",
        abstract: "Simulate a fleet of lampd boards against a lamp-ingest receiver.",
        discussion: """
            keys writes the enrolled-keys file for the fleet (give the same --boards and --seed \
            to run); poles writes its pole inventory (positions, rated power) for the live view \
            and `lamp-ingest energy`; plan prints what a run will send; run sends it and reports \
            throughput, acknowledgement latency and counts. See docs/fleet-simulator.md.

            Exit codes: 0 ok, 1 failure while running, 2 usage error (as lamp-ingest and lampctl).
            """,
        subcommands: [KeysCommand.self, PolesCommand.self, PlanCommand.self, RunCommand.self]
    )

    /// Runs the command line; usage errors exit with 2 like lamp-ingest's and lampctl's, not
    /// ArgumentParser's default 64 (EX_USAGE).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// The options that decide what the fleet sends.
struct PlanOptions: ParsableArguments {
    @Option(help: "Number of simulated boards.") var boards: Int = 50
    @Option(help: "Simulated minutes (one regular batch per board per minute).") var minutes: Int = 10
    @Option(help: "Seed of keys and content.") var seed: UInt64 = 1
    @Option(help: "Percent of boards that go offline once.") var offlinePercent: Int = 10
    @Option(help: "How many minutes an offline board stays away.") var offlineMinutes: Int = 3
    @Option(help: "Percent of batches whose acknowledgement is lost (sent again).") var lostAckPercent: Int = 2
    @Option(help: "A cabinet door opens on about one board-minute in this many (0: never).") var doorEvery: Int = 240
    @Option(help: "An urgent alarm on about one board-minute in this many (0: never).") var alarmEvery: Int = 500
    @Option(help: "Simulated time of minute 0, seconds since 1970.") var startTime: Int64 = 1_767_225_600
    @Option(help: "The fleet's centre, LAT,LON in degrees: where the poles stand and whose sunset and sunrise the schedule follows.")
    var center: String = "50.8503,4.3517"
    @Option(help: "The lamps' schedule: city (lampd's built-in programme by the centre's sun) or none (100 % always, no level events).")
    var schedule: ScheduleKind = .city

    enum ScheduleKind: String, ExpressibleByArgument, CaseIterable { case city, none }

    /// The centre, read from `--center`.
    var centerLocation: GeoLocation? {
        let parts = center.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, let latitude = Double(parts[0].trimmingCharacters(in: .whitespaces)),
            let longitude = Double(parts[1].trimmingCharacters(in: .whitespaces))
        else { return nil }
        return GeoLocation(latitudeDegrees: latitude, longitudeDegrees: longitude)
    }

    func validate() throws {
        guard (1...1_000_000).contains(boards) else { throw ValidationError("--boards must be 1…1000000, not \(boards)") }
        guard (1...100_000).contains(minutes) else { throw ValidationError("--minutes must be 1…100000, not \(minutes)") }
        guard (0...100).contains(offlinePercent), (0...100).contains(lostAckPercent) else {
            throw ValidationError("--offline-percent and --lost-ack-percent are percentages, 0…100")
        }
        guard offlineMinutes >= 0, doorEvery >= 0, alarmEvery >= 0 else {
            throw ValidationError("--offline-minutes, --door-every and --alarm-every must not be negative")
        }
        guard (0...4_000_000_000).contains(startTime) else { throw ValidationError("--start-time must be 0…4000000000 s") }
        guard let centre = centerLocation, abs(centre.latitudeDegrees) <= 80 else {
            throw ValidationError("--center '\(center)' must be LAT,LON in degrees, latitude −80…80, longitude −180…180, e.g. 50.8503,4.3517")
        }
    }

    var plan: FleetPlan {
        FleetPlan(boards: boards, minutes: minutes, seed: seed, offlinePercent: offlinePercent, offlineMinutes: offlineMinutes,
                  lostAckPercent: lostAckPercent, doorEveryMinutes: doorEvery, alarmEveryMinutes: alarmEvery,
                  startNanoseconds: startTime * 1_000_000_000,
                  schedule: schedule == .city && centerLocation != nil
                      ? FleetSchedule(center: centerLocation!, startSeconds: startTime, minutes: minutes)
                      : FleetSchedule(minutes: minutes))
    }
}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Write the fleet's enrolled-keys file for lamp-ingest.")
    @OptionGroup var options: PlanOptions
    @Option(help: "The enrolled-keys file to write (replaced).") var out: String

    func run() throws {
        try options.plan.enrolmentFile().write(toFile: out, atomically: true, encoding: .utf8)
        print("wrote \(options.boards) keys to \(out)")
    }
}

struct PolesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poles", abstract: "Write the fleet's pole inventory (CSV: device,label,latitude,longitude,rated_power_w).")
    @OptionGroup var options: PlanOptions
    @Option(help: "Metres between neighbouring poles of the grid.") var spacingM: Double = 30
    @Option(help: "The inventory file to write (replaced).") var out: String

    func validate() throws {
        guard spacingM.isFinite, (1...1_000).contains(spacingM) else { throw ValidationError("--spacing-m must be 1…1000, not \(spacingM)") }
    }

    func run() throws {
        guard let centre = options.centerLocation else { throw ValidationError("--center must be LAT,LON") }
        try FleetPoles(plan: options.plan, center: centre, spacingMetres: spacingM).csv().write(toFile: out, atomically: true, encoding: .utf8)
        print("wrote \(options.boards) poles around \(options.center) to \(out)")
    }
}

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Print what a run will store: batches, readings, events.")
    @OptionGroup var options: PlanOptions

    func run() throws {
        let totals = options.plan.expectedTotals()
        print(#"{"batches": \#(totals.batches), "readings": \#(totals.readings), "events": \#(totals.events), "records": \#(totals.records)}"#)
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the fleet against a receiver and report.")
    @OptionGroup var options: PlanOptions
    @Option(help: "The receiver's batch URL, e.g. http://127.0.0.1:8080/v1/batches.") var url: String
    @Option(help: "Real milliseconds per simulated minute (60000: real time).") var minuteMs: Int = 60_000
    @Option(help: "Most boards delivering at once.") var concurrency: Int = 64
    @Flag(help: "Print JSON instead of text.") var json = false
    @Option(help: "Each board also pulls its desired state every N simulated minutes (0: never), verifies it against --city-keys and reports downlink.applied / downlink.refused in its next batch.")
    var pullEveryMinutes: Int = 0
    @Option(help: "The pinned city keys, laid out as lampd's [downlink] keys_dir (scheduler/ and operator/ with *.pub). Needed with --pull-every-minutes.")
    var cityKeys: String?
    @Option(help: "The boards' [downlink] max_override_duration, in hours.") var maxOverrideHours: Int = 24

    func validate() throws {
        guard (0...10_080).contains(pullEveryMinutes) else { throw ValidationError("--pull-every-minutes must be 0…10080, not \(pullEveryMinutes)") }
        guard (1...8_760).contains(maxOverrideHours) else { throw ValidationError("--max-override-hours must be 1…8760, not \(maxOverrideHours)") }
        if pullEveryMinutes > 0 && cityKeys == nil {
            throw ValidationError("--pull-every-minutes needs --city-keys DIR (the city's public keys, as lampd's [downlink] keys_dir)")
        }
        guard (0...3_600_000).contains(minuteMs) else { throw ValidationError("--minute-ms must be 0…3600000, not \(minuteMs)") }
        guard (1...10_000).contains(concurrency) else { throw ValidationError("--concurrency must be 1…10000, not \(concurrency)") }
        guard let parsed = URL(string: url) else {
            throw ValidationError("--url '\(url)' is not an http(s) URL, e.g. http://127.0.0.1:8080/v1/batches")
        }
        // The transport's own check (AsyncHTTPClient traps on a port above 65535).
        if let problem = Uplink.UplinkConfiguration.endpointProblem(parsed) { throw ValidationError("--url '\(url)': \(problem)") }
    }

    func run() async throws {
        let plan = options.plan
        var configuration = Uplink.UplinkConfiguration(url: URL(string: url)!)
        configuration.connectTimeout = .seconds(10)
        configuration.requestTimeout = .seconds(30)
        // AsyncHTTPClient keeps up to 8 connections per host and client: one client per 8 boards
        // in flight, so boards do not queue behind each other inside the simulator.
        let transports = try (0..<max(1, (concurrency + 7) / 8)).map { _ in try HTTPBatchTransport(configuration: configuration) }
        var runner = FleetRunner(plan: plan, transports: transports, concurrency: concurrency, minuteDuration: .milliseconds(minuteMs))
        if pullEveryMinutes > 0, let cityKeys {
            let (keyring, problems) = CityKeyring.load(directory: cityKeys)
            for problem in problems { FileHandle.standardError.write(Data("lamp-fleet: city keys: \(problem)\n".utf8)) }
            runner.pull = FleetPull(verifier: DesiredStateVerifier(keyring: keyring), everyMinutes: pullEveryMinutes,
                                    maximumOverrideSeconds: Int64(maxOverrideHours) * 3600)
        }
        let result: (counts: FleetCounts, seconds: Double, maxLagSeconds: Double)
        do {
            result = try await runner.run()
        } catch {
            for transport in transports { await transport.shutdown() }
            throw error
        }
        for transport in transports { await transport.shutdown() }
        let report = FleetReport(plan: plan, counts: result.counts, seconds: result.seconds, maxLagSeconds: result.maxLagSeconds)
        print(json ? report.json : report.text)
        if result.counts.refused > 0 || report.stored.records != report.expected.records { throw ExitCode(1) }
    }
}
